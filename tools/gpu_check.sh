#!/usr/bin/env bash
# GPU readiness: everything a GPU can tell us, measured in one run of under 8 minutes, written to bench/results/.
#
#   tools/gpu_check.sh                 on a GPU machine, from a clean checkout: install, then measure (see STEPS below)
#   tools/gpu_check.sh --dry-run       the same code paths on CPU at tiny sizes; results in a temporary folder (CI runs this)
#   tools/gpu_check.sh --fetch-wheels  HERE, where pip reaches the package index: download what the GPU machine lacks to .whl/
#
# Install. With .venv/.installed present, .venv is used as it is. Otherwise, with a .whl/ folder (the device machine of
# this workplace reaches no package index; see /work/.library/device/README.md), .venv is made offline: a venv with
# --system-site-packages over the machine's python3, whose torch, torchvision, numpy, scipy, pandas, scikit-learn,
# matplotlib and accelerate it reuses, plus the carried wheels (fastai, fastcore, nibabel, nilearn, torchray, ...)
# installed with --no-deps, plus this package (editable, --no-deps). The torch version is then the machine's, not the
# pin; bench/_record.py records it with every result. Otherwise `make venv` (the pinned recipe) and
# `pip install torchray==1.0.0.2`. So on the lent device, in one call:
#   here:   tools/gpu_check.sh --fetch-wheels
#   device: run(command="tools/gpu_check.sh", carry=[".whl"], timeout_s=540)   then copy bench/results/ back ($OUT).
#
# Steps, each under its own time limit (the whole run stops at --budget seconds, default 480; dry run: limits x3, 900):
#   1. bench/gpu_training.py     seconds per paper-scale epoch (U-Net, concept VAE, healthy VAE), projected wall times, fp16
#   2. bench/gpu_accelerate.py   one epoch under `accelerate launch` (one process per GPU) against a single process
#   3. bench/bench_torchray.py   DenseNet121 at 224 px: TorchRay extremal perturbation vs batched and per-image
#                                meaningful_perturbation, seconds per image and in-brain lesion AUC
#   4. bench/gpu_summary.py      bench/results/gpu_summary.md, the summary the README shows
# A step that fails or runs out of time is reported and the others still run; the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DRY=0; FETCH=0; BUDGET=
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --fetch-wheels) FETCH=1 ;;
    --budget) BUDGET="$2"; shift ;;
    *) echo "gpu_check: unknown option $1 (expected --dry-run, --fetch-wheels, --budget SECONDS)" >&2; exit 2 ;;
  esac; shift
done
t0=$(date +%s)
say() { echo "=== gpu_check [$(( $(date +%s) - t0 ))s] $*"; }

if [ $FETCH = 1 ]; then
  # The package's runtime requirements and torchray, closed over their dependencies, as installed in .venv, minus what
  # the GPU image already holds (the heavy binaries below) and spacy (a fastai requirement the package never imports).
  [ -f .venv/.installed ] || { echo "gpu_check: build .venv first (make venv)" >&2; exit 2; }
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
  mkdir -p .whl
  pkgs=$($PY - <<'EOF'
import re
from importlib.metadata import distribution, PackageNotFoundError
ON_IMAGE = re.compile(r'^(torch|torchvision|triton|nvidia-.*|cuda-.*|numpy|scipy|pandas|scikit-learn|matplotlib|pillow|accelerate|'
                      r'contourpy|kiwisolver|fonttools|pyarrow|sympy|networkx|psutil|pyyaml|jinja2|markupsafe|requests|urllib3|'
                      r'idna|certifi|charset-normalizer|packaging|typing-extensions|joblib|threadpoolctl|python-dateutil|six|'
                      r'pytz|tzdata|filelock|fsspec|setuptools|pip|cycler|pyparsing|spacy|safetensors|huggingface-hub|tqdm)$')
norm = lambda n: re.sub(r'[-_.]+', '-', n).lower()
seen, todo = {}, ['interpret_vae', 'torchray']
while todo:
    name = todo.pop()
    if norm(name) in seen or (ON_IMAGE.match(norm(name)) and name not in ('interpret_vae',)): continue
    try: d = distribution(name)
    except PackageNotFoundError: continue
    seen[norm(name)] = d.version
    for req in d.requires or []:
        if 'extra ==' in req: continue
        todo.append(re.match(r'[A-Za-z0-9_.\-]+', req).group(0))
seen.pop('interpret-vae')
print(' '.join(f'{n}=={v}' for n, v in sorted(seen.items())))
EOF
)
  say "wheels for the GPU machine (Python 3.12, x86-64): $pkgs"
  plat="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
  for p in $pkgs; do
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $plat -d .whl "$p" 2>/dev/null \
      || $PY -m pip wheel -q --no-deps -w .whl "$p" || { echo "gpu_check: no wheel for $p" >&2; exit 1; }
  done
  say "$(ls .whl | wc -l) wheels, $(du -sh .whl | cut -f1) in .whl/ (carry it: run(..., carry=[\".whl\"]))"
  exit 0
fi

# ---- install -------------------------------------------------------------------------------------------------------
if [ -f .venv/.installed ]; then say "using .venv"
elif [ -d .whl ]; then
  say "offline install: venv over the system python3 ($(python3 -c 'import torch; print("torch", torch.__version__)')) + .whl/"
  python3 -m venv --system-site-packages .venv || exit 1
  $PY -m pip install -q --no-index --no-deps --no-compile .whl/*.whl || exit 1
  $PY -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
else
  say "online install: make venv, then torchray"
  make venv && .venv/bin/pip install -q torchray==1.0.0.2 || exit 1
fi

$PY -c 'import torchray' 2>/dev/null || { echo "gpu_check: torchray is missing from .venv: pip install torchray==1.0.0.2 (the dev requirements list it)" >&2; exit 1; }

# ---- measure -------------------------------------------------------------------------------------------------------
if [ $DRY = 1 ]; then
  export IVAE_BENCH_RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/ivae_gpu_dry.XXXXXX")  # never the tracked bench/results/
  DEV=cpu; MODE=--dry-run; SLACK=3; BUDGET=${BUDGET:-900}  # two shared CPU cores: three times each step's limit
else
  export IVAE_BENCH_RESULTS=$PWD/bench/results
  DEV=cuda; MODE=; SLACK=1; BUDGET=${BUDGET:-480}
  $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "gpu_check: no CUDA device (use --dry-run on CPU)")' || exit 1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
export PYTHONUNBUFFERED=1
failed=()
step() {  # step NAME CAP_SECONDS command...: run under min(CAP, what is left of the budget)
  local name=$1 cap=$(( $2 * SLACK )); shift 2
  local left=$(( BUDGET - ($(date +%s) - t0) ))
  local limit=$(( cap < left ? cap : left ))
  if [ $limit -le 10 ]; then say "$name: SKIPPED, the budget of ${BUDGET}s is spent"; failed+=("$name (skipped)"); return; fi
  say "$name (limit ${limit}s)"
  timeout --kill-after=10 $limit "$@"; local rc=$?
  if [ $rc = 0 ]; then say "$name: done"
  else say "$name: FAILED (exit $rc$([ $rc = 124 ] && echo ', out of time'))"; failed+=("$name"); fi
}
step training   150 $PY bench/gpu_training.py --device $DEV $MODE
step accelerate  90 $PY bench/gpu_accelerate.py $MODE
step explain    330 $PY bench/bench_torchray.py --device $DEV --size 224 --model densenet121 --n-images 6 --iterations 800 \
                    --name torchray_paper --no-tune $MODE
step summary     30 $PY bench/gpu_summary.py "$IVAE_BENCH_RESULTS" --write
say "results in $IVAE_BENCH_RESULTS"
if [ ${#failed[@]} -gt 0 ]; then say "FAILED: ${failed[*]}"; exit 1; fi
say "all steps passed"
