"""Stands in for the linker of an extension module: writes its inputs as JSON.

Called by the compiler wrapper with the linker's arguments when they hold
``-shared``. The output file (``X.cpython-311-wasm32-wasi.so``) gets
``{"inputs": [absolute paths of the .o and .a inputs]}``; xtask links each
module later into one object with only its renamed ``PyInit_`` symbol public.
"""

import json
import os
import sys


def main(args):
    output = args[args.index("-o") + 1]
    inputs = [os.path.abspath(arg) for arg in args if not arg.startswith("-") and arg.endswith((".o", ".a"))]
    with open(output, "w") as out:
        json.dump({"inputs": inputs}, out)


if __name__ == "__main__":
    main(sys.argv[1:])
