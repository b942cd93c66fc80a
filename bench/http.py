"""The HTTP load test of issue 14 (`bench/http_load.py`), under the name the issue gives it.

    .venv/bin/python bench/http.py --help

This file is named like the standard library's `http` package, and a script run as
`python bench/NAME.py` has this folder first on sys.path: its `import http` (httpx, aiohttp and
urllib all make one) lands here. Imported so, this module hands over the standard library's
package in its place; run as a script, it runs `bench/http_load.py`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig

if __name__ == "http":
    _init = os.path.join(sysconfig.get_paths()["stdlib"], "http", "__init__.py")
    _spec = importlib.util.spec_from_file_location(
        "http", _init, submodule_search_locations=[os.path.dirname(_init)]
    )
    assert _spec is not None and _spec.loader is not None
    _std = importlib.util.module_from_spec(_spec)
    # The import system returns what sys.modules holds once this module has run.
    sys.modules["http"] = _std
    _spec.loader.exec_module(_std)
elif __name__ == "__main__":
    import runpy

    runpy.run_path(os.path.join(os.path.dirname(__file__), "http_load.py"), run_name="__main__")
