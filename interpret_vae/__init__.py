__version__ = "0.1.0"

import warnings
# fastai's layers call torch.jit.script at import time; torch 2.10+ deprecates it. Not ours to fix, noise in every notebook.
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
