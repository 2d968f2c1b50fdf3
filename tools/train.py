"""Train a MobileViT as a config file says (the same as ``mobilevit train``).

python tools/train.py configs/mobilevit/mobilevit-small_8xb128_in1k.py
torchrun --nproc-per-node 8 tools/train.py configs/mobilevit/mobilevit-small_8xb128_in1k.py
"""

import sys

from mobilevit.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
