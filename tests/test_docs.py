"""The README and docs/ cannot go stale: every config key, rule, method, file path and library
name that they mention in a code span exists in the project."""

import collections
import glob
import importlib
import pkgutil
import re
import shlex
import shutil
import subprocess
from functools import cache

import pytest
import yaml

import sincvae
from conftest import ROOT, SNAKEMAKE
from sincvae import paths
from sincvae.learn import registry
from sincvae.score import metric_table
from sincvae.plan.planning import RUN_FAMILIES, SCORE
from sincvae.show.report import NOT_METHODS

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GENERATED = ("results/", "logs/", "benchmarks/", "data/")  # what the rules write: checked against their patterns
SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


@cache
def vocabulary() -> dict[str, set[str]]:
    """What the project defines: rules, methods, config keys (dotted), library names, files."""
    rules_text = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")])
    rules = set(re.findall(r"^rule (\w+):", rules_text, flags=re.M))
    rules |= set(re.findall(r"^use rule \w+ as (\w+)", rules_text, flags=re.M))
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    keys: set[str] = set()

    def walk(node: dict, prefix: str) -> None:
        if "$ref" in node:
            walk(schema["$defs"][node["$ref"].rsplit("/", 1)[-1]], prefix)
        for name, sub in (node.get("properties") or {}).items():
            keys.add(prefix + name)
            walk(sub, f"{prefix}{name}.")
        for sub in node.get("allOf", []) + node.get("anyOf", []) + node.get("oneOf", []):
            walk(sub, prefix)

    walk(schema, "")
    keys |= {f"ablations.margin.{metric}" for metric in metric_table.tested()}  # its keys are the metric table's
    # a module by its path under sincvae (plan.planning), or by its own name as the pages name it (planning)
    library = {name for module in pkgutil.walk_packages(sincvae.__path__, "sincvae.")
               for name in (module.name.removeprefix("sincvae."), module.name.rsplit(".", 1)[-1])}
    files = set(subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True,
                               check=True).stdout.split())
    files |= {str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")}  # new pages, before a commit
    # the files of sincvae.paths, and any a rule block spells itself
    literals = re.findall(r'"([^"\s]+)"', rules_text) + [value for name, value in vars(paths).items()
                                                         if name.isupper() and isinstance(value, str)]
    code = "\n".join(p.read_text() for folder in ("workflow", "tests") for p in (ROOT / folder).rglob("*.py"))
    outputs = {literal.rsplit("/", 1)[-1] for literal in literals + re.findall(r'"([\w.-]+\.\w+)"', code)}
    patterns = {re.escape(re.sub(r"\{+[^}]*\}+", "\0", literal)).replace("\0", "[^/]+")
                for literal in literals if literal.startswith(GENERATED)}
    return {"rules": rules, "methods": {*registry.METHODS, *NOT_METHODS}, "keys": keys, "library": library,
            "files": files, "top": {f.split("/", 1)[0] for f in files},
            "basenames": {f.rsplit("/", 1)[-1] for f in files} | outputs, "patterns": patterns}


def generated(path: str) -> bool:
    """Whether some rule writes `path` (a wildcard written {name}; a folder ends with /), or
    the library names its file (a checkpoint beside a history), or it is a top-level folder."""
    if path.rstrip("/") + "/" in GENERATED or path.rsplit("/", 1)[-1] in vocabulary()["basenames"] - {""}:
        return "/" in path.rstrip("/") or path.endswith("/")
    concrete = re.sub(r"\{[^}]*\}", "x", path)
    return any(re.fullmatch(pattern + ("(/.*)?" if path.endswith("/") else ""), concrete.rstrip("/"))
               or (path.endswith("/") and re.match(pattern.split("/[^/]+")[0], concrete))
               for pattern in vocabulary()["patterns"])


def library_name(dotted: str) -> bool:
    """Whether sincvae.<dotted>, or sincvae.<stage>.<dotted> (a module by its own name), is a
    module or an attribute of one (module.function, module.Class.method)."""
    parts = dotted.split(".")
    stages = [""] + [f"{module.name}." for module in pkgutil.iter_modules(sincvae.__path__) if module.ispkg]
    for cut in range(len(parts), 0, -1):
        found = [target for stage in stages if (target := _module(f"sincvae.{stage}{'.'.join(parts[:cut])}"))]
        if not found:
            continue
        target = found[0]
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None


def stale(text: str, folder=ROOT) -> list[str]:
    """The names in a page's code spans (and in "rule `x`", "method `x`") the project lacks,
    and its links to files (relative to `folder`, the page's) that do not exist."""
    names = vocabulary()
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # command blocks are run, not named
    found = [f"link {link}" for link in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text)
             if not (folder / link).exists()]
    for rule in re.findall(r"\brules? `(\w+)`|`(\w+)` rule\b", text):
        name = rule[0] or rule[1]
        if name not in names["rules"]:
            found.append(f"rule {name}")
    for method in re.findall(r"\bmethods? `(\w+)`|`(\w+)` method\b", text):
        name = method[0] or method[1]
        if name not in names["methods"]:
            found.append(f"method {name}")
    for span in SPAN.findall(text):
        named_rule = re.fullmatch(r"rule (\w+)", span)
        if named_rule and named_rule.group(1) not in names["rules"]:
            found.append(f"rule {named_rule.group(1)}")
        for word in (piece for token in span.split() for piece in re.split(r"[()]", token)):
            word = word.strip(",;:[]{}'\"")
            path, _, test = word.partition("::")
            if path.startswith(GENERATED):
                if not generated(path):
                    found.append(f"output {path}")
            elif "/" in path and "{" not in path and not path.startswith(("..", "http")) and (
                    path.split("/")[0] in names["top"] or re.search(r"\.\w+$", path)):
                # a project path, or a file named from its package (methods/contract.py)
                package = ROOT / "workflow" / "sincvae"
                bases = [ROOT, ROOT / "workflow", package, *(p for p in package.iterdir() if p.is_dir())]
                if not any(glob.glob(str(base / path)) for base in bases) and path.rstrip("/") not in names["files"]:
                    found.append(f"file {path}")
                elif test and f"def {test.split('[')[0]}(" not in next(
                        (base / path).read_text() for base in bases if (base / path).exists()):
                    found.append(f"test {word}")
            elif re.fullmatch(r"[a-z_]+(\.[A-Za-z_][A-Za-z_0-9]*)+", word) and not re.search(r"\.(py|yaml|csv|md|json|parquet|png|html|ipynb|pt|tsv|smk|log|journal|txt)$", word):
                top = word.split(".")[0]
                config_key = top in {k for k in names["keys"] if "." not in k}
                library = top in {name.split(".")[0] for name in names["library"]}
                if (config_key or library) and word not in names["keys"] and not (library and library_name(word)):
                    found.append(f"{'config key' if config_key else 'library name'} {word}")
            elif re.fullmatch(r"[\w.-]+\.(py|yaml|csv|md|json|parquet|png|html|ipynb|pt|tsv|smk)", word):
                if word not in names["basenames"]:
                    found.append(f"file name {word}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_name_a_page_mentions_exists(page):
    assert stale(page.read_text(), page.parent) == []


def test_a_renamed_name_is_caught():
    """Each kind of name, renamed in a page's text as a rename in the code would leave it."""
    text = "\n".join(page.read_text() for page in PAGES)  # README's links are relative to the root
    for real, renamed in (("rank_methods", "rank_cases"), ("evaluate.match_tolerance", "evaluate.match_distance"),
                          ("metrics.forward_valid", "metrics.forward_check"), ("(docs/metrics.md)", "(docs/scores.md)"),
                          ("exact.forward_tolerance", "exact.residual_tolerance"), ("methods/contract.py", "methods/rules.py"),
                          ("ablations.primary", "ablations.decisive")):
        assert real in text, real
        assert any(renamed.strip("()") in problem for problem in stale(text.replace(real, renamed))), renamed
    assert stale("the rule `no_such_rule` and method `no_such_method`") == ["rule no_such_rule",
                                                                          "method no_such_method"]


HISTORY = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"  # a commit hash
                     r"|\b20\d\d-[01]\d-[0-3]\d\b"  # a date
                     r"|\bissues? #?\d+", flags=re.I)


def narrated(text: str) -> list[str]:
    return HISTORY.findall(text)


def test_the_docs_and_code_state_what_holds_not_when():
    """No docs page over 200 lines, and no commit hash, date or issue number in the README, the
    docs, the tests or the workflow's code and comments: git keeps the history."""
    long = [str(page.relative_to(ROOT)) for page in PAGES[1:] if len(page.read_text().splitlines()) > 200]
    assert not long, long
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "README.md", "docs", "tests", "workflow", "config",
                            "Snakefile"], capture_output=True, text=True, check=True).stdout.split()
    found = {name: narrated((ROOT / name).read_text()) for name in files
             if name.endswith((".md", ".py", ".smk", ".yaml", ".j2", ".rst", "Snakefile")) and (ROOT / name).exists()}
    assert not {name: hits for name, hits in found.items() if hits}
    hash_, date, issue = "9fd9" + "a98", "2026" + "-12-06", "issue " + "48"  # split, or this file would hold them
    assert narrated(f"fixed in {hash_} on {date}, see {issue}") == [hash_, date, issue]
    assert narrated("a seed of 1234567, the colour #222, see the docs") == []


def rerun_commands() -> list[str]:
    """The commands of the README's "Rerun one experiment", as typed, less their comments."""
    section = (ROOT / "README.md").read_text().split("## Rerun one experiment")[1].split("\n## ")[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.startswith("snakemake ")]


@pytest.mark.parametrize("command", rerun_commands())
def test_each_rerun_command_plans_only_its_case(command, tmp_path):
    """Each command of "Rerun one experiment", as typed, in a new copy of the default study: its
    dry run plans the run job of its own case (with the data and exact solutions it needs) and
    nothing that trains another case or builds the report."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    words = shlex.split(command)
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "--dry-run", *words[1:]],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    planned = collections.Counter(re.findall(r"^(?:local)?rule (\w+):", result.stdout, flags=re.M))
    target = next(word for word in words if word.endswith("metrics.json"))
    assert sum(count for rule, count in planned.items() if rule in RUN_FAMILIES) == 1, planned
    assert planned[SCORE] == 1, planned
    assert "report" not in planned and "compare" not in planned
    assert target.split("/")[2] in result.stdout


def test_the_workflow_catalogs_files_describe_this_workflow():
    """The Snakemake Workflow Catalog reads .snakemake-workflow-catalog.yml (its usage block) and
    config/README.md (the configuration): the latter names every top-level config key."""
    catalog = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["report"] is True and catalog["usage"]["software-stack-deployment"]["conda"] is True
    text = (ROOT / "config" / "README.md").read_text()
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    missing = [key for key in schema["properties"] if f"`{key}`" not in text]
    assert not missing, f"config/README.md does not describe {missing}"


def test_every_file_registered_for_the_report_has_a_caption_and_a_category():
    """snakemake --report groups each result under its category with its caption (workflow/report/)."""
    text = "\n".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    calls = [call.split("\n    )")[0].split("\n        ),")[0] for call in text.split("report(")[1:]]
    assert len(calls) >= 8
    for call in calls:
        assert "caption=" in call and "category=" in call, call
        caption = re.search(r'caption=f?"\.\./report/([^"{]+)', call)
        if caption:
            assert (ROOT / "workflow" / "report" / caption.group(1)).exists(), caption.group(1)
