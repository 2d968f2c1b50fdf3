"""Top-1 and top-5 accuracy of a checkpoint on a config's validation split (the same as ``mobilevit test``).

python tools/test.py configs/mobilevit/mobilevit-small_8xb128_in1k.py CHECKPOINT [--out results.json]
torchrun --nproc-per-node 8 tools/test.py CONFIG CHECKPOINT
"""

import sys

from mobilevit.cli import main

if __name__ == "__main__":
    sys.exit(main(["test", *sys.argv[1:]]))
