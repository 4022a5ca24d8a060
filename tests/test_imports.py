"""The project's modules import each other without cycles (function-level imports included), dependencies point
down (models and layers import no evidence module; only protloc.evidence.mmseqs starts MMseqs2), and the package never
imports, nor reads files of, the TFDS builder or the benchmark scripts."""
import ast
import pathlib

from tests.helpers import REPO

PACKAGES = ("protloc", "tfds_multiloc", "tuning")


def project_modules() -> dict[str, pathlib.Path]:
    """Dotted name -> file of every module of the project's packages and of benchmarks/."""
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for path in (REPO / "benchmarks").glob("*.py"):
        found[path.stem] = path  # run as scripts, with benchmarks/ on sys.path
    return found


def imports_of(path: pathlib.Path, name: str, modules) -> set[str]:
    """The project modules ``path`` imports anywhere in its body: ``import a.b`` -> a.b; ``from a import b`` -> a.b
    when that is a module, else a; relative imports resolved against the module ``name``."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {module for module in found if module in modules and module != name}


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first = last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_is_read_from_function_level_imports_too():
    edges = graph()
    assert "protloc.prediction.predictor" in edges["protloc"]  # protloc.Localizer imports it inside a function
    assert {"protloc.data.features", "protloc.models.layers"} <= edges["protloc.models.zoo"]
    assert "protloc.models.zoo" in edges["protloc.models"]  # the package forwards the registry's names


LAYERS = ("utils", "data", "models", "evidence", "prediction", "training", "apps")
"""protloc's subpackages, each allowed to import only itself and those before it (docs/reference.md, "Code
layout")."""


def layer_of(module: str) -> int | None:
    """The index in :data:`LAYERS` of a protloc module's subpackage; None for the package's top (``protloc`` and the
    ``python -m protloc.beam`` entry point), which may import anything."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_of_the_package_is_in_a_layer():
    tops = {name for name in project_modules() if name.startswith("protloc") and layer_of(name) is None}
    assert tops == {"protloc", "protloc.beam"}


def test_each_subpackage_imports_only_itself_and_the_layers_below():
    edges = graph()
    for layer in LAYERS:
        for name in sorted(edges):
            if name.startswith("protloc.") and layer_of(name) == LAYERS.index(layer):
                above = {target for target in edges[name] if target.startswith("protloc.")  # protloc: __version__
                         and (layer_of(target) is None or layer_of(target) > LAYERS.index(layer))}
                assert not above, f"{name} ({layer}) imports {sorted(above)}, which are above it"


def test_the_layer_check_finds_an_upward_import():
    assert layer_of("protloc.data.pipeline") < layer_of("protloc.models.recipes")  # pipeline -> recipes would fail
    assert layer_of("protloc.apps.cli") == len(LAYERS) - 1 and layer_of("protloc") is None


EVIDENCE = {"protloc.evidence.homology", "protloc.evidence.profiles", "protloc.evidence.mmseqs",
            "protloc.evidence.fusion", "protloc.evidence.class_evidence", "protloc.training.fitting",
            "protloc.prediction.predictor"}


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in edges[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_models_and_layers_import_no_evidence_module_even_indirectly():
    edges = graph()
    for name in ("protloc.models", "protloc.models.layers", "protloc.data.pipeline", "protloc.models.inference",
                 "protloc.data.datasets"):
        assert not reachable(edges, name) & EVIDENCE, name
    # fusion reads arrays
    assert not reachable(edges, "protloc.evidence.fusion") & {"protloc.evidence.homology", "protloc.evidence.mmseqs"}


def test_only_the_mmseqs_module_starts_mmseqs():
    for name, path in project_modules().items():
        text = path.read_text()
        if name != "protloc.evidence.mmseqs":
            assert "subprocess" not in text or not name.startswith("protloc"), name
            assert "mmseqs.binary()" not in text and "run_mmseqs" not in text, name


def test_nothing_in_the_package_reads_files_of_the_builder_folder():
    """No string in the package's code (docstrings aside) names the builder's folder: no path is built to it."""
    for path in (REPO / "protloc").rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert "tfds_multiloc" not in node.value, path


def test_no_import_cycle_among_the_projects_modules():
    assert find_cycle(graph()) is None


def test_the_package_imports_neither_the_builder_nor_the_benchmarks():
    edges = graph()
    benchmarks = {path.stem for path in (REPO / "benchmarks").glob("*.py")}
    for name, targets in edges.items():
        if name.startswith("protloc"):
            assert not {t for t in targets if t.startswith("tfds_multiloc") or t in benchmarks}, name
        if name in benchmarks:
            assert not targets & (benchmarks - {"common"}), f"benchmarks/{name}.py imports another script"
