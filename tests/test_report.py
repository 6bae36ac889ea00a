"""``gearsplan report``: a Markdown plan with PNG figures, rendered on the embedded data with a quick model."""

from __future__ import annotations

import json
import re
import struct
from itertools import combinations
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from gearsplan.analysis.model_screen import ModelScreen
from gearsplan.data.conditions import CONTROL_KEY
from gearsplan.errors import GearsplanError
from gearsplan.interface import report_figures
from gearsplan.interface.report import SECTIONS, figures_dir, write_report
from gearsplan.model.bundle import load_bundle

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUDGET = 8
#: Pairs asked for, so that the closer look has pairs to draw (expected gain alone picks singles on this data).
PAIRS = 3


@pytest.fixture(scope="module")
def rendered(trained_bundle_dir, screen, tmp_path_factory):
    """A report written over a stale one, with every progress report recorded."""
    out = tmp_path_factory.mktemp("report") / "plan.md"
    out.write_text("stale report")
    figures_dir(out).mkdir()
    (figures_dir(out) / "stale.png").write_bytes(b"old")
    calls = []
    report = write_report(
        load_bundle(trained_bundle_dir),
        ModelScreen.read(screen),
        out,
        budget=BUDGET,
        seed=0,
        progress=lambda done, total: calls.append((done, total)),
        pairs=PAIRS,
    )
    return report, out.read_text(encoding="utf-8"), calls


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def links(markdown: str) -> list[str]:
    """Every link and image target of the rendered Markdown."""
    targets = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        for child in token.children or ():
            if child.type == "image":
                targets.append(child.attrGet("src"))
            elif child.type == "link_open":
                targets.append(child.attrGet("href"))
    return targets


def test_every_linked_image_is_a_valid_png_of_sensible_size(rendered):
    report, markdown, _ = rendered
    images = [t for t in links(markdown) if t.endswith(".png")]
    assert images and len(images) == len(report.figures)
    for target in images:
        assert not Path(target).is_absolute() and target.startswith("plan_files/")
        path = report.path.parent / target
        width, height = png_size(path)
        assert 400 <= width <= 4000 and 300 <= height <= 4000, (target, width, height)
        assert path.stat().st_size > 10_000


def test_markdown_converts_to_html_with_no_broken_link(rendered):
    report, markdown, _ = rendered
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert html.count("<table>") >= 4 and html.count("<img ") == len(report.figures)
    for target in links(markdown):
        if "://" not in target:
            assert (report.path.parent / target).is_file(), f"broken link {target}"
    # The stale report's figure went with it; only this run's figures remain.
    assert sorted(p.name for p in figures_dir(report.path).iterdir()) == sorted(p.name for p in report.figures)
    assert not [p for p in report.path.parent.iterdir() if p.name.startswith(".")]


def test_every_section_holds_numbers_of_this_run(rendered, screen, bulk, trained_bundle_dir):
    report, markdown, calls = rendered
    headings = re.findall(r"^## \d\. (.+)$", markdown, flags=re.MULTILINE)
    assert headings == list(SECTIONS) == list(report.sections)
    sections = dict(zip(SECTIONS, re.split(r"^## \d\. .+$", markdown, flags=re.MULTILINE)[1:]))

    n_control = int((screen.keys == CONTROL_KEY).sum())
    n_pairs = sum("+" in k for k in screen.perturbations)
    analysed = sections["What was analysed"]
    assert f"{screen.adata.n_obs:,} ({n_control:,} control)" in analysed
    assert (
        f"{len(screen.perturbations)} ({len(screen.perturbations) - n_pairs} single genes, {n_pairs} pairs" in analysed
    )
    assert (
        str(trained_bundle_dir) in analysed
        and f"--budget {BUDGET} --pairs {PAIRS} --seed 0" in analysed
        and "torch" in analysed
    )
    # the embedded screen by the name --data takes, not by a path inside this machine's installation
    screen_row = next(line for line in analysed.splitlines() if line.startswith("| screen |"))
    assert "the embedded `norman` screen" in screen_row and str(screen.source) not in screen_row

    # The Spearman the report computes equals the one training computed on the same held-out split.
    stored = load_bundle(trained_bundle_dir).metadata["evaluation"]["uncertainty_spearman"]
    assert f"Spearman ρ = **{stored:.3f}**" in sections["How good the model is"]
    assert report.facts["uncertainty_spearman"] == pytest.approx(stored)

    rows = re.findall(r"^\| (\d+) \| ([^|]+) \| (single|pair) \|", sections["What to do next"], flags=re.MULTILINE)
    assert [int(r[0]) for r in rows] == list(range(1, BUDGET + 1))
    first_pairs = [r[1].strip() for r in rows if r[2] == "pair"]
    assert len(first_pairs) == PAIRS and report.facts["closer_look"] == [p.replace(" + ", "+") for p in first_pairs]
    assert re.findall(r"^### (.+)$", sections["Closer look"], flags=re.MULTILINE) == first_pairs
    assert sum(f.name.startswith("top_de_") for f in report.figures) == PAIRS

    singles = [k for k in bulk.keys if "+" not in k]
    assert f"({len(list(combinations(singles, 2)))} pairs)" in sections["What is predicted to interact"]
    assert f"{len(screen.perturbations)} perturbations" in sections["Caveats"]
    assert not re.search(r"\b(nan|None|TODO|placeholder)\b", markdown)
    assert calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_cli_json_names_the_report(run_cli, trained_bundle_dir, tmp_path):
    out = tmp_path / "my plan.md"
    code, stdout, _ = run_cli("report", "--model", trained_bundle_dir, "--out", out, "--budget", "4", "--json")
    assert code == 0
    document = json.loads(stdout)
    assert document["report"] == str(out) and document["sections"] == list(SECTIONS)
    assert all(Path(f).is_file() and Path(f).parent == tmp_path / "my plan_files" for f in document["figures"])
    assert "](my%20plan_files/" in out.read_text(encoding="utf-8")
    assert "gearsplan report --model" in out.read_text(encoding="utf-8")


def test_a_library_joins_the_plans_genes_of_interest_as_it_joins_suggests(run_cli, trained_bundle_dir, tmp_path, bulk):
    """report had no --candidates: a lab with a guide library got a plan of genes it cannot perturb."""
    library = tmp_path / "library.txt"
    library.write_text("FOSB\nCEBPB\nJUN\nFOSB+CEBPB\n")
    out = tmp_path / "plan.md"
    code, _, _ = run_cli(
        "report", "--model", trained_bundle_dir, "--out", out, "--budget", "4", "--candidates", library, "--expand", "0"
    )
    markdown = out.read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d+ \| ([A-Z0-9+ ]+?) \| (single|pair) \|", markdown, flags=re.MULTILINE)
    assert code == 0 and len(rows) == 4 and "3 genes of the guide library (--candidates), 1 pair it lists" in markdown
    screen_genes = {g for k in bulk.keys for g in k.split("+")}
    assert all(set(genes.split(" + ")) <= {"FOSB", "CEBPB", "JUN"} | screen_genes for genes, _ in rows)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--budget", "0"], "budget must be positive"),
        (["--out", "{file}/plan.md"], "cannot write"),
        (["--budget", "4", "--pairs", "9"], "--pairs 9 is outside 0..4"),
    ],
)
def test_user_errors_end_in_one_line_and_write_nothing(run_cli, trained_bundle_dir, tmp_path, arguments, message):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    arguments = [a.format(file=blocker) for a in arguments]
    code, stdout, err = run_cli(
        "report",
        "--model",
        trained_bundle_dir,
        *(arguments if "--out" in arguments else ["--out", tmp_path / "plan.md", *arguments]),
    )
    assert code == 2 and message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_figures_folder_holding_other_files_is_left_alone(run_cli, trained_bundle_dir, tmp_path):
    folder = tmp_path / "plan_files"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    code, _, err = run_cli("report", "--model", trained_bundle_dir, "--out", tmp_path / "plan.md")
    assert code == 2 and "not part of a report's figures (notes.txt)" in err and len(err.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["plan_files"] and (folder / "notes.txt").read_text() == "mine"


def test_a_failure_halfway_leaves_the_old_report_and_no_files(trained_bundle, screen, tmp_path, monkeypatch):
    out = tmp_path / "plan.md"
    out.write_text("the previous plan")

    def broken(*_args, **_kwargs):
        raise GearsplanError("drawing failed", "")

    # The first figure is written, then the second fails.
    monkeypatch.setattr(report_figures, "uncertainty_error_png", broken)
    with pytest.raises(GearsplanError, match="drawing failed"):
        write_report(trained_bundle, ModelScreen.read(screen), out, budget=BUDGET)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.md"]
    assert out.read_text() == "the previous plan"
