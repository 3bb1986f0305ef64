"""The rules every migration keeps (docs/operate/schema-compatibility.md):

- append-only: a migration that has landed is never edited or removed (its digest is held here);
- one release back: each migration is additive, or declares that it breaks the previous release
  (``backward_compatible = False``) and raises the oldest compatible release (``min_version``) in
  ``schema_compat``.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
from pathlib import Path

from alembic import command
from sqlalchemy import text

from storage.compat import release_key
from storage.db import make_engine
from storage.migrate import MIGRATIONS, alembic_config

VERSIONS = MIGRATIONS / "versions"

# sha256 of every migration that has landed on main. A landed migration is never edited: a database
# that ran it would not run it again. Adding a migration? Add its digest here in the same commit
# (`sha256sum storage/migrations/versions/NNNN_*.py`); to change the schema, write a new migration.
LANDED = {
    "0001_initial_schema.py": "1aeb68bafa74ea81cc8192835ab35792cd928cc36efdeb15dc459934d5b36744",
    "0002_followups.py": "707eda3d1f7d52243fed4dba2331d1a3f0af1d9ce97efa2ff4226e311de95047",
    "0003_overview_indexes.py": "df0f944db3c731bbb3a3eca9b577bed74c23bb97eccd6cbd8a07d96a487a82fe",
    "0004_alerts.py": "9f4a10ba12d30968502fab8b59e2693bc6569c7dcfff3d24c5019e10d5dc5305",
    "0005_complete_early_databases.py": "e14858efb7dd833755e795faf46776f6f0d27af78985a6cc522392780b6465d2",
    "0006_view_targets.py": "feb46d1e3f8c381c4075663a9982285f8dd163198ea179cbd71b4442e0c5d0e7",
    "0007_web_sessions.py": "87ebbb29d5400798600f5da64368d7ba14d99880232fec1638cc56fc0d4b7bc6",
    "0008_search_index.py": "f78d74867dfbe19b2602bb40de202ee8dcc35b912d75357df79d7a5aeeb561ce",
    "0009_status_page.py": "b3ba23b2a0e43e425a4fc797fb2ebe6984d48564b4e4d591946fadd60ca206f8",
    "0010_incident_types_fields.py": "cc5ed17fc4880b84ee3afaf445e7a66e5c8e40185843f69552b55a796aadce64",
    "0011_status_maintenance.py": "dc1f927bd42291d8606b71218dc27b7bd9d0d69f6119eeb4f107e4befbe607c3",
    "0012_status_page_maintenance_reminders.py": "827ab00384fe46e7bb0e75b29d2684c64004b721d88a408c48daec7110dd57f9",
    "0013_checklists.py": "95412a404b178310695706a838d01d70eeefd299f258525bcb3fa807d6dccf44",
    "0014_incident_embeddings.py": "5ee3625a124a8a643879fd9fc52f56b2f55ae1381948c06addbabdf92b2f70b5",
    "0015_workflow_events_and_runs.py": "44f324141ec0487ae0fbf4eaf45a37cc93a91ec9a95a98c47fe07d04b5c37151",
    "0016_search_incidents.py": "19cae8565aaa515840b457babc51b3e585420de06054c8b156423758c5d204e4",
}
# They predate the compatibility marker (and cannot gain it: they are frozen); the scan below finds
# only additions in them.
BEFORE_THE_MARKER = {"0001", "0002", "0003", "0004"}

ADD_DIGEST = "a new migration adds its sha256 to LANDED in tests/storage/test_migration_rules.py"


def digest_problems(versions: Path, landed: dict[str, str]) -> list[str]:
    present = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in versions.glob("*.py")}
    problems = [f"{name}: landed migration removed" for name in sorted(landed.keys() - present.keys())]
    problems += [
        f"{name}: landed migration edited (write a new migration instead)"
        for name in sorted(landed.keys() & present.keys())
        if present[name] != landed[name]
    ]
    problems += [
        f"{name}: no digest ({ADD_DIGEST}: {present[name]})"
        for name in sorted(present.keys() - landed.keys())
    ]
    return problems


def test_landed_migrations_are_never_edited_or_removed() -> None:
    assert digest_problems(VERSIONS, LANDED) == []


def test_an_edited_removed_or_unrecorded_migration_is_named(tmp_path: Path) -> None:
    for path in VERSIONS.glob("*.py"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    with (tmp_path / "0003_overview_indexes.py").open("a") as edited:
        edited.write("# tidied\n")
    (tmp_path / "0002_followups.py").unlink()
    (tmp_path / "0099_new.py").write_text('"""new"""\n')
    problems = digest_problems(tmp_path, LANDED)
    assert problems[:2] == [
        "0002_followups.py: landed migration removed",
        "0003_overview_indexes.py: landed migration edited (write a new migration instead)",
    ]
    assert problems[2].startswith(f"0099_new.py: no digest ({ADD_DIGEST}: ")
    assert len(problems) == 3


# Operations in upgrade() that break code of the previous release running on the new schema.
_DROPS = {"drop_table", "drop_column", "drop_constraint", "drop_index", "rename_table"}
_DESTRUCTIVE_SQL = ("drop ", "rename ", "alter column", "set not null")


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def breaking_operations(source: str) -> list[str]:
    """What upgrade() does that the previous release may not survive: drops, renames, a type change,
    NOT NULL on an existing column, a NOT NULL column added without a server default."""
    tree = ast.parse(source)
    upgrade = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade")
    found = []
    for call in (n for n in ast.walk(upgrade) if isinstance(n, ast.Call)):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name in _DROPS:
            found.append(name)
        elif name == "alter_column" and (
            _is_false(_keyword(call, "nullable"))
            or _keyword(call, "new_column_name") is not None
            or _keyword(call, "type_") is not None
        ):
            found.append("alter_column")
        elif name == "add_column":
            for column in (a for a in call.args if isinstance(a, ast.Call)):
                if _is_false(_keyword(column, "nullable")) and _keyword(column, "server_default") is None:
                    found.append("add_column NOT NULL without server_default")
        elif name == "execute" and any(
            isinstance(a, ast.Constant) and any(w in str(a.value).lower() for w in _DESTRUCTIVE_SQL)
            for a in ast.walk(call)
        ):
            found.append("execute (destructive SQL)")
    return found


def markers(source: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    with contextlib.suppress(ValueError):
                        values[target.id] = ast.literal_eval(node.value)
    return values


def rule_problems(revision: str, source: str) -> list[str]:
    found, marked = breaking_operations(source), markers(source)
    if revision in BEFORE_THE_MARKER:
        return [f"{revision}: {op} in a migration from before the marker" for op in found]
    if not isinstance(marked.get("backward_compatible"), bool):
        return [
            f"{revision}: declare backward_compatible = True (additive) or False (breaks the previous release)"
        ]
    if marked["backward_compatible"] is False:
        if not isinstance(marked.get("min_version"), str):
            return [
                f"{revision}: breaks the previous release: declare min_version, the release that can run on it"
            ]
        return []
    if found and not marked.get("compatibility_note"):
        return [
            f"{revision}: {', '.join(found)} breaks the previous release: declare backward_compatible = False "
            "and min_version (or, if it truly does not, say why in compatibility_note)"
        ]
    return []


def test_every_migration_is_additive_or_declares_what_it_breaks() -> None:
    problems = []
    for path in sorted(VERSIONS.glob("*.py")):
        problems += rule_problems(path.name.split("_")[0], path.read_text())
    assert problems == []


ADDITIVE = """
backward_compatible: bool = True
def upgrade() -> None:
    op.add_column("incidents", sa.Column("region", sa.String(), nullable=True))
    op.add_column("incidents", sa.Column("tier", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("ix_incidents_region", "incidents", ["region"])
def downgrade() -> None:
    op.drop_column("incidents", "region")
"""


def test_a_destructive_migration_must_declare_that_it_breaks_the_previous_release() -> None:
    assert rule_problems("0042", ADDITIVE) == []
    assert rule_problems("0042", ADDITIVE.replace("backward_compatible: bool = True\n", "")) == [
        "0042: declare backward_compatible = True (additive) or False (breaks the previous release)"
    ]
    destructive = {
        'op.drop_column("incidents", "summary")': "drop_column",
        'op.alter_column("incidents", "title", new_column_name="name")': "alter_column",
        'op.alter_column("incidents", "channel_name", nullable=False)': "alter_column",
        'op.add_column("incidents", sa.Column("team", sa.String(), nullable=False))': "add_column NOT NULL",
        'op.execute("ALTER TABLE incidents DROP COLUMN summary")': "execute (destructive SQL)",
        'with op.batch_alter_table("incidents") as b:\n        b.drop_column("fix")': "drop_column",
    }
    for statement, named in destructive.items():
        source = ADDITIVE.replace("def upgrade() -> None:\n", f"def upgrade() -> None:\n    {statement}\n")
        (problem,) = rule_problems("0042", source)
        assert problem.startswith("0042: ") and named in problem, statement
        declared = source.replace("= True", '= False\nmin_version = "0.4.0"')
        assert rule_problems("0042", declared) == []
        assert rule_problems("0042", declared.replace('min_version = "0.4.0"', "")) != []


def test_the_migrations_record_the_oldest_compatible_release(tmp_path: Path) -> None:
    """Each migration that declares min_version writes it: step by step, the record follows."""
    engine = make_engine(f"sqlite:///{tmp_path / 'steps.db'}")
    highest = None
    for path in sorted(VERSIONS.glob("*.py")):
        revision = path.name.split("_")[0]
        command.upgrade(alembic_config(engine), revision)
        declared = markers(path.read_text()).get("min_version")
        if isinstance(declared, str):
            highest = max(highest or declared, declared, key=release_key)
            with engine.connect() as conn:
                recorded = conn.execute(text("SELECT min_version FROM schema_compat")).scalars().all()
            assert recorded == [highest], revision
    assert highest is not None
