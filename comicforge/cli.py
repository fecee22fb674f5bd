"""Command line: argument parsing and printing only (heavy modules are imported per command)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from comicforge.errors import ComicforgeError


def _page_range(text: str) -> set[int]:
    """'3' or '2-4' or '1,3,5-6' → page numbers."""
    pages: set[int] = set()
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            pages.update(range(int(first), int(last or first) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a page range: {text!r} (e.g. 3, 2-4, 1,3,5-6)") from None
    if not pages or min(pages) < 1:
        raise argparse.ArgumentTypeError(f"not a page range: {text!r} (pages start at 1)")
    return pages


def _exports(text: str) -> tuple[str, ...]:
    from comicforge.pipeline.run import EXPORTS

    chosen = tuple(e.strip() for e in text.split(",") if e.strip())
    unknown = [e for e in chosen if e not in EXPORTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown export {', '.join(unknown) or text!r} (valid: {', '.join(EXPORTS)})")
    return chosen


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (a whole number ≥ 0)")
    return int(text)


def _steps(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 150:
        raise argparse.ArgumentTypeError(f"not a step count: {text!r} (1 to 150)")
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The comicforge command line."""
    main = argparse.ArgumentParser(prog="comicforge", description="Comics and manga from a project file, to print-ready PDF.")
    main.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    new = commands.add_parser("new", help="create a project from a template")
    new.add_argument("path", type=Path)
    new.add_argument("--template", default="comic", help="comic (left-to-right) or manga (right-to-left)")

    for name, text in (("check", "validate a project and the files it names"), ("plan", "list each job as reuse or build, with the reason"),
                       ("build", "build the book")):
        command = commands.add_parser(name, help=text)
        command.add_argument("project", type=Path, help="project folder or its comic.yaml")
        if name in ("plan", "build"):
            command.add_argument("--pages", type=_page_range, help="a subset, e.g. 2-4")
            command.add_argument("--export", type=_exports, default=("pdf", "png"), help="pdf,png,cbz,spreads,sheets (default pdf,png)")
            command.add_argument("--json", action="store_true", help="print one JSON object")
            command.add_argument("--proof", action="store_true", help="proof mode: live area and overflow markers drawn; outputs in build/proof/")
            command.add_argument("--preview", action="store_true", help="every candidate at defaults.preview settings (own keys); outputs in build/preview/")
        if name == "build":
            command.add_argument("--out", type=Path, help="output folder (default PROJECT/build)")
            command.add_argument("--executor", choices=("local", "ray"), default="local",
                                 help="where generate/refine jobs run: this process (default) or Ray actors (pip install 'comicforge-studio[ray]')")
            command.add_argument("--address", help="the Ray cluster, HOST:PORT (default COMICFORGE_RAY_ADDRESS, else a new local Ray)")
            command.add_argument("--actors", type=_count, help="Ray actors per kind (default one per GPU, or one per CPU)")

    review = commands.add_parser("review", help="review candidates in the browser and pick them (a local web app)")
    review.add_argument("project", type=Path, help="project folder or its comic.yaml")
    review.add_argument("--port", type=_count, default=8411, help="port on 127.0.0.1 (default 8411; 0: any free port)")
    review.add_argument("--no-open", action="store_true", help="do not open a browser")

    commands.add_parser("schema", help="print the JSON Schema of comic.yaml")

    gc = commands.add_parser("gc", help="delete store entries the book no longer uses")
    gc.add_argument("project", type=Path, help="project folder or its comic.yaml")
    gc.add_argument("--keep", type=_count, default=1, help="also keep what the last N builds used (default 1)")
    gc.add_argument("--dry-run", action="store_true", help="only say what would be freed")

    store = commands.add_parser("store", help="inspect the project's store (.comicforge/)")
    store_commands = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    verify = store_commands.add_parser("verify", help="check every entry against its recorded sizes and hashes")
    verify.add_argument("project", type=Path, help="project folder or its comic.yaml")
    verify.add_argument("--repair", action="store_true", help="drop broken entries (the next build rebuilds them)")

    control = commands.add_parser("control", help="write a panel's control images (what the ControlNets and T2I-Adapters are given)")
    control.add_argument("project", type=Path, help="project folder or its comic.yaml")
    control.add_argument("panel", help="panel id, e.g. p3.2")
    control.add_argument("--out", type=Path, required=True, help="folder for <panel>-<kind>.png (and <panel>-regions.png: several characters' regions)")

    prompt = commands.add_parser("prompt", help="show what the text encoder gets from a prompt: schedule, attention, chunks, LoRA tags")
    prompt.add_argument("text", nargs="?", help="an A1111 prompt; with --project/--panel, rendered as that panel's prompt")
    prompt.add_argument("--project", type=Path, help="project folder or its comic.yaml (with --panel)")
    prompt.add_argument("--panel", help="panel id: show its fully rendered prompt and negative")
    prompt.add_argument("--steps", type=_steps, help="sampling steps (default: the panel's, else 25)")
    prompt.add_argument("--model", type=Path, help="count tokens with this checkpoint's tokenizer(s) (loads transformers)")
    prompt.add_argument("--json", action="store_true", help="print one JSON object")

    halftone = commands.add_parser("halftone", help="halftone any image to a 1-bit PNG")
    halftone.add_argument("input", type=Path)
    halftone.add_argument("output", type=Path)
    halftone.add_argument("--dpi", type=int, required=True)
    halftone.add_argument("--lpi", type=float, required=True)
    halftone.add_argument("--angle", type=float, default=45.0)
    halftone.add_argument("--shape", default="round", help="round, ellipse or line")
    return main


def cmd_new(args: argparse.Namespace) -> int:
    from comicforge.project.scaffold import create_project

    file = create_project(args.path, args.template)
    print(f"created {file}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from comicforge.pipeline.run import resolved_jobs
    from comicforge.pipeline.store import Store
    from comicforge.project.files import find_project_file

    file = find_project_file(args.project)
    jobs, meta = resolved_jobs(file, Store(file.parent))
    panels = sum(1 for j in jobs if j.stage == "finish")
    print(f"{file.name}: ok ({meta['page_count']} pages, {panels} panels)")
    return 0


def _options(args: argparse.Namespace) -> Any:
    from comicforge.pipeline.run import BuildOptions

    farm = {name: getattr(args, name) for name in ("executor", "address", "actors") if getattr(args, name, None) is not None}
    if farm.get("executor", "local") == "local" and ("address" in farm or "actors" in farm):
        raise ComicforgeError("--address and --actors are for --executor ray")
    return BuildOptions(out=getattr(args, "out", None), pages=args.pages, exports=args.export,
                        progress=sys.stderr.isatty() and not args.json, proof=args.proof, usage=args.json,
                        preview=args.preview, **farm)


def cmd_plan(args: argparse.Namespace) -> int:
    from comicforge.pipeline.run import make_plan
    from comicforge.pipeline.store import Store
    from comicforge.project.files import find_project_file

    file = find_project_file(args.project)
    plan = make_plan(file, Store(file.parent), _options(args))
    decisions = plan.decisions
    if args.json:
        rows = [{"job": d.job.id, "stage": d.job.stage, "name": d.job.label, "action": "build" if d.build else "reuse", "reason": d.reason} for d in decisions]
        counts = {"build": sum(d.build for d in decisions), "reuse": sum(not d.build for d in decisions)}
        print(json.dumps({"resolve": plan.resolve, "jobs": rows, **counts}, indent=2))
        return 0
    print(plan.resolve)
    for d in decisions:
        print(f"{'build' if d.build else 'reuse'}  {d.job.stage:<8} {d.job.label}: {d.reason}")
    print(f"{sum(d.build for d in decisions)} to build, {sum(not d.build for d in decisions)} to reuse")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from comicforge.pipeline.run import build

    report = build(args.project, _options(args))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    data = report.to_json()
    print(f"panels: {data['panels']['generated']} generated, {data['panels']['reused']} reused; "
          f"pages: {data['pages']['composed']} composed, {data['pages']['reused']} reused ({report.seconds:.2f} s)")
    for kind in ("pdf", "spreads", "cbz", "sheets"):
        if kind in data["outputs"]:
            print(f"{kind}: {data['outputs'][kind]}")
    return 0


def cmd_control(args: argparse.Namespace) -> int:
    from comicforge.control.images import control_images
    from comicforge.errors import Problem
    from comicforge.pipeline.keys import Fingerprints
    from comicforge.pipeline.store import Store
    from comicforge.project.files import find_project_file
    from comicforge.project.load import load_project
    from comicforge.project.resolve import resolve_book

    file = find_project_file(args.project)
    fingerprints = Fingerprints(Store(file.parent).root / "fingerprints.json")
    book, _ = resolve_book(load_project(file), fingerprints)
    fingerprints.save()
    panels = {panel.id: panel for panel in book.panels}
    if args.panel not in panels:
        shown = ", ".join(list(panels)[:12]) + (" …" if len(panels) > 12 else "")
        raise ComicforgeError(Problem(f"no panel {args.panel!r} (panels: {shown})", file.name))
    request = panels[args.panel].request
    images = control_images(request)
    if request.regions:
        from comicforge.control.regions import regions_image

        images["regions"] = regions_image(request)
    if not images:
        raise ComicforgeError(Problem(f"panel {args.panel} has no control inputs (give it a pose, a lineart sketch, a depth or a normal map)", file.name))
    args.out.mkdir(parents=True, exist_ok=True)
    for kind, image in images.items():
        target = args.out / f"{args.panel}-{kind}.png"
        image.save(target)
        print(target)
    return 0


def _panel_request(project: Path, panel_id: str, prompt: str | None = None) -> Any:
    """A panel's resolved generate request (the whole book is resolved, so its problems are reported); `prompt`
    stands in for the panel's own prompt template when given."""
    from comicforge.errors import Problem
    from comicforge.pipeline.keys import Fingerprints
    from comicforge.pipeline.store import Store
    from comicforge.project.files import find_project_file
    from comicforge.project.load import load_project
    from comicforge.project.resolve import resolve_book

    file = find_project_file(project)
    fingerprints = Fingerprints(Store(file.parent).root / "fingerprints.json")
    loaded = load_project(file)
    for number, page in enumerate(loaded.project.pages, start=1):
        for index, panel in enumerate(page.panels, start=1):
            if prompt is not None and (panel.id or f"p{number}.{index}") == panel_id:
                panel.prompt = prompt
    book, _ = resolve_book(loaded, fingerprints)
    fingerprints.save()
    panels = {panel.id: panel for panel in book.panels}
    if panel_id not in panels:
        shown = ", ".join(list(panels)[:12]) + (" …" if len(panels) > 12 else "")
        raise ComicforgeError(Problem(f"no panel {panel_id!r} (panels: {shown})", file.name))
    return panels[panel_id].request


def cmd_prompt(args: argparse.Namespace) -> int:
    from comicforge.errors import Problem
    from comicforge.promptlang.explain import explain_prompt, report_text
    from comicforge.promptlang.networks import scan_tags

    if (args.project is None) != (args.panel is None) or (args.text is None and args.panel is None):
        raise ComicforgeError(Problem("give a prompt TEXT, --project and --panel, or both (TEXT then stands in for the panel's prompt)", "prompt"))
    if args.panel is not None:
        request = _panel_request(args.project, args.panel, args.text)
        text, negative, steps = request.prompt, request.negative, args.steps or request.steps
    else:
        text, negative, steps = args.text, "", args.steps or 25
    scan = scan_tags(text)
    if scan.problems:
        raise ComicforgeError([Problem(message, "prompt") for message in scan.problems])
    tokenizers = _prompt_tokenizers(args.model)
    report = explain_prompt(text, negative, steps, scan.loras, tokenizers)
    shown = [report_text(report)]
    if args.panel is not None and request.regions:  # what the encoder gets: the scene's text and each region's
        explain = lambda prompt: explain_prompt(prompt, negative, steps, scan_tags(prompt).loras, tokenizers)  # noqa: E731
        report["scene"] = explain(request.scene)
        report["regions"] = [{"who": region.who, "box": [round(v, 3) for v in region.box], **explain(region.prompt)} for region in request.regions]
        shown.append("outside every region, the scene's " + report_text(report["scene"]))
        shown += [f"{region['who']}'s region {region['box']}: " + report_text(region) for region in report["regions"]]
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else "\n\n".join(shown))
    return 0


def _prompt_tokenizers(model: Path | None) -> list[Any]:
    """The shipped CLIP tokenizer (no torch), or the tokenizer(s) of `--model`."""
    if model is None:
        from comicforge.promptlang.attention import TokenIds
        from comicforge.promptlang.clip_tokens import clip_tokenizer
        from comicforge.promptlang.explain import Tokenizer

        clip = clip_tokenizer()
        end = clip.vocab["<|endoftext|>"]
        return [Tokenizer(clip.encode, clip.decode, TokenIds(clip.vocab["<|startoftext|>"], end, end, clip.vocab[",</w>"]))]
    from comicforge.engines.diffusion.prompts import model_tokenizers
    from comicforge.errors import EngineError, Problem

    try:
        return model_tokenizers(model.expanduser().resolve())
    except EngineError as error:
        raise ComicforgeError(Problem(str(error), "--model")) from None


def cmd_gc(args: argparse.Namespace) -> int:
    from comicforge.pipeline.upkeep import collect_garbage, human_size
    from comicforge.project.files import find_project_file

    report = collect_garbage(find_project_file(args.project), keep=args.keep, dry_run=args.dry_run)
    verb = "would free" if report.dry_run else "freed"
    print(f"{verb} {human_size(report.freed_bytes)} in {report.freed_entries} entries; "
          f"kept {human_size(report.kept_bytes)} in {report.kept_entries} entries")
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    from comicforge.pipeline.upkeep import verify_store
    from comicforge.project.files import find_project_file

    report = verify_store(find_project_file(args.project), repair=args.repair)
    for key in report.broken:
        print(f"broken: {key}" + (" (dropped)" if report.repaired else ""))
    dropped = ", dropped: the next build rebuilds them" if report.broken and report.repaired else ""
    print(f"{report.checked} entries checked, {len(report.broken)} broken" + dropped)
    return 1 if report.broken and not report.repaired else 0


def cmd_review(args: argparse.Namespace) -> int:
    from comicforge.project.files import find_project_file
    from comicforge.review.serve import serve_review

    serve_review(find_project_file(args.project), args.port, open_browser=not args.no_open)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from comicforge.project.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_halftone(args: argparse.Namespace) -> int:
    from comicforge.post.halftone import halftone_file

    halftone_file(args.input, args.output, dpi=args.dpi, lpi=args.lpi, angle=args.angle, shape=args.shape)
    return 0


COMMANDS = {
    "new": cmd_new, "check": cmd_check, "plan": cmd_plan, "build": cmd_build, "schema": cmd_schema,
    "control": cmd_control, "prompt": cmd_prompt, "halftone": cmd_halftone, "gc": cmd_gc, "store": cmd_store,
    "review": cmd_review,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; user errors print located messages and exit with status 2."""
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ComicforgeError as error:
        if args.debug:
            raise
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`comicforge plan P | head`): stop quietly, as other commands do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush does not fail again
        return 141
    except OSError as error:
        if args.debug:
            raise
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except Exception as error:  # a bug: say so briefly; --debug shows the traceback
        if args.debug:
            raise
        print(f"error: internal error ({type(error).__name__}: {error}); run with --debug for the traceback and please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
