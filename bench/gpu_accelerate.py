"""One epoch under `accelerate launch` (the package's `distributed` context) matches the same epoch in a single process.

A small CNN (`SmallCNN`, no dropout) learns simulated lesion slices for one epoch with plain SGD, once in this process and
once data-parallel in `--n-proc` processes (default: one per GPU; 2 CPU processes with gloo when there is no GPU). fastai's `DistributedDL` gives rank r the r-th contiguous share of the items, and DDP averages the ranks'
gradients, so the single-process run that must match takes batches of `n_proc x bs` made of every rank's k-th batch;
on GPUs SyncBatchNorm makes the batch statistics those of the whole batch. PyTorch's SyncBatchNorm needs CUDA, so on
CPU (gloo) both runs use the network with its BatchNorm layers left out. Passing: every weight within `--atol` and the
validation loss within `--atol` (float32 sums in another order). A broken path (gradients not averaged, items not
shared out, BatchNorm not synchronised) fails by orders of magnitude more.

    .venv/bin/python bench/gpu_accelerate.py                 # results: bench/results/gpu_accelerate.json
    .venv/bin/python bench/gpu_accelerate.py --dry-run       # tiny, 2 CPU processes, results in a temporary folder
"""
import argparse, os, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch
from torch import nn
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.optimizer import SGD
from interpret_vae.core import default_device, set_seed, distributed, launch_distributed
from interpret_vae.data.lesion import simulate_lesion_set
from interpret_vae.models.classifier import SmallCNN, classifier_learner
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import record

LR = 0.05


def data(size, n_healthy, world, bs):
    "Training and validation (x, y) items; the training items trimmed to a multiple of `world x bs` (no padded batch)."
    les = simulate_lesion_set(n_healthy, size=size, seed=0, radius=(0.06, 0.15), contrast=(0.5, 1.0))
    items = [(torch.from_numpy(x), torch.tensor(int(y))) for x, y in zip(les.images, les.labels)]
    n_valid = len(items) // 5
    train, valid = items[n_valid:], items[:n_valid]
    return train[:len(train) // (world * bs) * (world * bs)], valid


def interleaved(train, world, bs):
    "The items in the order whose batches of `world x bs` are the union of every rank's k-th batch of `bs`."
    share = len(train) // world
    chunks = [train[r * share:(r + 1) * share] for r in range(world)]
    return [it for k in range(0, share, bs) for c in chunks for it in c[k:k + bs]]


def network(sync_bn: bool) -> nn.Module:
    "`SmallCNN` without dropout; without its BatchNorm layers when they cannot be synchronised (CPU)."
    model = SmallCNN(1, 2, dropout=0.)
    if not sync_bn:
        for block in model.modules():
            for name, m in block.named_children():
                if isinstance(m, nn.BatchNorm2d): setattr(block, name, nn.Identity())
    return model


def learner(train, valid, bs, device, sync_bn):
    set_seed(0)
    dls = DataLoaders(DataLoader(train, bs=bs, shuffle=False, device=device), DataLoader(valid, bs=64, shuffle=False, device=device),
                      device=device)
    return classifier_learner(dls, network(sync_bn), fp16=False, opt_func=SGD)


def worker(out, size, n_healthy, world, bs):
    "Under `accelerate launch`: one epoch inside `distributed`; rank 0 saves the weights."
    from fastai.torch_core import rank_distrib, num_distrib
    if max(num_distrib(), 1) != world: raise SystemExit(f"expected {world} processes, got {num_distrib()}")
    train, valid = data(size, n_healthy, world, bs)
    sync_bn = torch.cuda.is_available()
    learn = learner(train, valid, bs, default_device(), sync_bn)
    with distributed(learn, sync_bn=sync_bn), learn.no_bar(), learn.no_logging(): learn.fit(1, LR)
    if rank_distrib() == 0:
        torch.save({k: v.detach().float().cpu() for k, v in learn.model.state_dict().items()}, Path(out)/'ddp_state.pt')
        print(f"rank 0 of {max(num_distrib(), 1)}: trained one epoch on {len(train)} items")


def valid_loss(learn):
    with learn.no_bar(), learn.no_logging(): return float(learn.validate()[0])


def main(n_proc=None, size=64, n_healthy=40, bs=16, atol=1e-4, dry_run=False, timeout=100):
    cuda = torch.cuda.is_available()
    world = n_proc or (max(torch.cuda.device_count(), 1) if cuda else 2)
    dev = default_device()
    t0 = time.perf_counter()
    train, valid = data(size, n_healthy, world, bs)
    single = learner(interleaved(train, world, bs), valid, world * bs, dev, cuda)
    with single.no_bar(), single.no_logging(): single.fit(1, LR)
    t_single = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        args = ['--worker', d, '--size', size, '--n-healthy', n_healthy, '--bs', bs, '--n-proc', world]
        r = launch_distributed(Path(__file__).resolve(), n_proc=world, args=[str(a) for a in args], timeout=timeout)
        t_ddp = time.perf_counter() - t
        print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else '(no output from rank 0)')
        state = torch.load(Path(d)/'ddp_state.pt', map_location='cpu', weights_only=True)
    ref = {k: v.detach().float().cpu() for k, v in single.model.state_dict().items()}
    w_diff = max(float((state[k] - ref[k]).abs().max()) for k in ref if ref[k].is_floating_point())
    moved = max(float((ref[k] - v).abs().max()) for k, v in learner(train, valid, bs, 'cpu', cuda).model.state_dict().items()
                if v.is_floating_point())  # how far one epoch moves the weights: the scale the tolerance is small against
    l_single = valid_loss(single)
    single.model.load_state_dict(state)
    l_ddp = valid_loss(single)
    passed = w_diff <= atol and abs(l_ddp - l_single) <= atol
    print(f"{world} process(es) on {dev}: max |weight difference| {w_diff:.2e} (one epoch moves weights up to {moved:.2e}), "
          f"validation loss {l_ddp:.6f} vs single process {l_single:.6f}; tolerance {atol}: {'passed' if passed else 'FAILED'}")
    record('gpu_accelerate', device=str(dev), dry_run=dry_run, processes=world, backend='nccl' if cuda else 'gloo',
           sync_batchnorm=cuda, size=size,
           train_items=len(train), per_rank_batch=bs, max_abs_weight_diff=w_diff, max_weight_change_in_epoch=moved,
           valid_loss_single=round(l_single, 6), valid_loss_distributed=round(l_ddp, 6), atol=atol, passed=bool(passed),
           seconds_single=round(t_single, 1), seconds_distributed_with_launch=round(t_ddp, 1))
    if not passed: sys.exit('distributed run does not match the single-process run')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n-proc', type=int, default=None, help='processes (default: one per GPU; 2 on CPU)')
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--n-healthy', type=int, default=40, help='simulated subjects (5 images each)')
    p.add_argument('--bs', type=int, default=16, help='batch size per process')
    p.add_argument('--atol', type=float, default=1e-4)
    p.add_argument('--timeout', type=int, default=100, help='seconds before the launched run counts as hung')
    p.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    p.add_argument('--dry-run', action='store_true', help='tiny sizes, 2 CPU processes, results in a temporary folder')
    a = p.parse_args()
    if a.worker: worker(a.worker, a.size, a.n_healthy, a.n_proc, a.bs)
    elif a.dry_run:
        os.environ.setdefault('IVAE_BENCH_RESULTS', tempfile.mkdtemp(prefix='ivae_dry_'))
        main(a.n_proc, size=32, n_healthy=8, bs=4, atol=a.atol, dry_run=True, timeout=2 * a.timeout)
    else: main(a.n_proc, a.size, a.n_healthy, a.bs, a.atol, timeout=a.timeout)
