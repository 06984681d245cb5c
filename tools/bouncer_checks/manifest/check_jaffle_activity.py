"""The project's own dbt-bouncer checks, for rules no built-in check covers.

dbt-bouncer loads this file through `custom_checks_dir` in dbt-bouncer.yml
(the folder name, `manifest`, makes them manifest checks). Each check is a
plain function: its first argument is the resource it runs on (or only `ctx`
for a check that runs once), its keyword-only arguments are its parameters
in the YAML, and `fail()` reports a failure.
"""

from __future__ import annotations

from dbt_bouncer.check_framework.decorator import check, fail
from dbt_bouncer.checks.manifest.check_macros import _parse_macro_argument_names
from dbt_bouncer.utils import is_description_populated

MIN_LENGTH = 4


def _described(text: object) -> bool:
    return is_description_populated(str(text or ""), MIN_LENGTH)


def _undescribed_columns(node, label: str) -> list[str]:
    """The declared columns of a source table or seed without a description;
    fails when it declares none."""
    columns = node.columns or {}
    if not columns:
        fail(f"`{label}` declares no columns.")
    return [str(name) for name, column in columns.items()
            if not _described(column.description)]


def is_private_macro(name: str) -> bool:
    """A helper (`_name`) or an adapter implementation (`<adapter>__name`)."""
    return name.startswith("_") or "__" in name


@check(code="JA001")
def check_package_macros_documented(
    ctx, *, packages: list[str], known_gaps: list[str] | None = None
):
    """Public macros of the packages are on the docs site and documented;
    private ones are hidden.

    Private macros (`_name`, `<adapter>__name`) must have `docs: {show: false}`
    in a `_*.yml` file of the package; every other macro must be shown, have a
    description, and describe every argument of its signature. `known_gaps`
    names public macros whose documentation is known to be incomplete: they
    are skipped, and the check fails once one of them is complete, so that
    the list only ever shrinks.
    """
    known = set(known_gaps or [])
    problems = []
    for macro in ctx.manifest_obj.manifest.macros.values():
        if macro.package_name not in packages:
            continue
        name = str(macro.name)
        shown = bool(macro.docs.show) if macro.docs else True
        if is_private_macro(name):
            if shown:
                problems.append(f"private `{name}` is not hidden (docs: show: false)")
            continue
        if not shown:
            problems.append(f"public `{name}` is hidden from the docs site")
        gaps = []
        if not _described(macro.description):
            gaps.append("no description")
        documented = {
            str(a.name): a.description for a in (macro.arguments or [])
        }
        missing = [
            a for a in _parse_macro_argument_names(str(macro.macro_sql))
            if not _described(documented.get(a))
        ]
        if missing:
            gaps.append(f"arguments without a description: {missing}")
        if name in known:
            if not gaps:
                problems.append(
                    f"`{name}` is documented now: remove it from known_gaps"
                )
        elif gaps:
            problems.append(f"public `{name}`: {'; '.join(gaps)}")
    if problems:
        fail("Package macros: " + ", ".join(sorted(problems)) + ".")


@check(code="JA002")
def check_source_loaded_at_field_populated(source):
    """A source table names its load-time column (`loaded_at_field`, or a
    `loaded_at_query`), so that `dbt source freshness` can judge it."""
    if not (source.loaded_at_field or source.loaded_at_query):
        fail(
            f"`{source.source_name}.{source.name}` has no loaded_at_field "
            "(or loaded_at_query)."
        )


@check(code="JA003")
def check_source_columns_description_populated(source):
    """Every column declared on a source table has a description (the
    catalog check `check_source_columns_are_all_documented` makes sure every
    column of the table is declared)."""
    missing = _undescribed_columns(source, f"{source.source_name}.{source.name}")
    if missing:
        fail(
            f"`{source.source_name}.{source.name}` has columns without a "
            f"description: {missing}."
        )


@check(code="JA004")
def check_seed_columns_description_populated(seed):
    """Every column declared on a seed has a description (the catalog check
    `check_seed_columns_are_all_documented` makes sure every column of the
    seed is declared)."""
    missing = _undescribed_columns(seed, seed.name)
    if missing:
        fail(f"`{seed.name}` has columns without a description: {missing}.")


@check(code="JA005")
def check_staging_model_named_after_its_source(model, ctx):
    """A staging model reads one source and is named and placed after it:
    `models/staging/<source>/stg_<source>__<entity>.sql`."""
    sources = [
        node for node in (model.depends_on.nodes or [])
        if str(node).startswith("source.")
    ]
    if len(sources) != 1:
        fail(f"`{model.name}` reads {len(sources)} sources, not one.")
    source_name = str(sources[0]).split(".")[2]
    expected = f"models/staging/{source_name}/stg_{source_name}__"
    path = str(model.original_file_path).replace("\\", "/")
    if not path.startswith(expected):
        fail(
            f"`{model.name}` reads source `{source_name}`: it belongs in "
            f"{expected}<entity>.sql, not {path}."
        )
