"""Python gRPC stubs for Sluice, generated from proto/ on first use.

    import sluice_stubs
    v1 = sluice_stubs.load()          # namespace with the generated modules
    stub = v1.queues_pb2_grpc.QueuesStub(grpc.insecure_channel(address))
    request = v1.queues_pb2.SendRequest(queue_name="jobs", ...)

The stubs are generated with protoc and grpc_python_plugin (Debian:
protobuf-compiler, protobuf-compiler-grpc; scripts/setup installs both) into
SLUICE_PY_STUBS_DIR (default: a folder under the system temp dir keyed
by the protos' contents), so a changed .proto is picked up at once and no
generated code is committed. Any other language works the same way: run its
gRPC generator on proto/sluice/v1/*.proto (see docs/clients.md).
"""
import hashlib
import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import types

_REPO = pathlib.Path(__file__).resolve().parents[2]
PROTO_ROOT = _REPO / "proto"
_FILES = ["sluice/v1/types.proto", "sluice/v1/queues.proto",
          "sluice/v1/cluster.proto"]


def _stub_dir():
    configured = os.environ.get("SLUICE_PY_STUBS_DIR")
    if configured:
        return pathlib.Path(configured)
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update((PROTO_ROOT / name).read_bytes())
    return pathlib.Path(tempfile.gettempdir()) / (
        "sluice-py-stubs-" + digest.hexdigest()[:16])


def _generate(out):
    plugin = shutil.which("grpc_python_plugin")
    if shutil.which("protoc") is None or plugin is None:
        raise RuntimeError("protoc and grpc_python_plugin are needed to make "
                           "the stubs: run scripts/setup")
    out.mkdir(parents=True, exist_ok=True)
    # Generate into a private folder, then rename: concurrent first uses
    # (parallel tests) never see half-written modules.
    work = pathlib.Path(tempfile.mkdtemp(dir=out.parent, prefix=".gen-"))
    args = ["protoc", f"-I{PROTO_ROOT}", f"--python_out={work}",
            f"--grpc_python_out={work}",
            f"--plugin=protoc-gen-grpc_python={plugin}"]
    result = subprocess.run(args + _FILES, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("protoc failed: " + result.stderr)
    for package in ("sluice", "sluice/v1"):
        (work / package / "__init__.py").touch()
    try:
        os.rename(work / "sluice", out / "sluice")
    except OSError:
        pass  # another process won the race; its copy is identical


def load():
    """Returns a namespace with types_pb2, queues_pb2, queues_pb2_grpc,
    cluster_pb2 and cluster_pb2_grpc of package sluice.v1."""
    out = _stub_dir()
    if not (out / "sluice" / "v1" / "cluster_pb2_grpc.py").exists():
        _generate(out)
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    names = ["types_pb2", "queues_pb2", "queues_pb2_grpc", "cluster_pb2",
             "cluster_pb2_grpc"]
    return types.SimpleNamespace(**{
        n: importlib.import_module("sluice.v1." + n) for n in names})
