"""SQL is built only with bound parameters: a static check of every module of the services
and libraries.

A SQL string handed to ``text()``, ``execute()``, ``exec_driver_sql()``, ``scalar()`` or
``scalars()`` may not be made by an f-string, ``%``-formatting, ``+`` concatenation or
``str.format`` of anything but literals and quoted identifiers. Values go in as bound
parameters (``sa.text("... = :value")`` with parameters, or SQLAlchemy expressions).

The one exception is an identifier that cannot be a parameter (a database or schema name in
DDL), and only through the dialect's ``identifier_preparer.quote`` — directly, through one of
the wrappers listed in :data:`QUOTING_WRAPPERS`, or through a variable holding its
result. Names bound only to literals written in the code (a module constant, the items of a
literal tuple a loop walks, a choice between two constants) count as literals.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SQL_CALLS = frozenset({"text", "execute", "exec_driver_sql", "scalar", "scalars"})

#: Functions that only quote an identifier with the dialect's ``identifier_preparer``;
#: (file relative to the repository, function name) → why the identifier is interpolated.
QUOTING_WRAPPERS: dict[tuple[str, str], str] = {
    ("services/analytics/src/switchboard_analytics/rebuild.py", "_quote"): (
        "the rebuild creates, swaps and drops schemas named after a timestamp: DDL takes no "
        "bound parameters for a schema name"
    ),
    ("services/analytics/src/switchboard_analytics/rebuild.py", "q"): (
        "shorthand for _quote bound to the rebuild's engine"
    ),
}


@dataclass(frozen=True)
class Violation:
    """A SQL string built from a value that is not a literal or a quoted identifier."""

    file: str
    line: int
    call: str
    source: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.call}({self.source})"


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, file: str, wrappers: frozenset[str]) -> None:
        self.file = file
        self.wrappers = wrappers
        self.violations: list[Violation] = []
        # Names assigned from a quoted identifier, per enclosing function.
        self._quoted: list[set[str]] = [set()]

    def _is_quoting_call(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "quote"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "identifier_preparer"
        ):
            return True
        return isinstance(func, ast.Name) and func.id in self.wrappers

    def _safe(self, node: ast.AST) -> bool:
        """A literal, a quoted identifier, or made of nothing else."""
        if isinstance(node, ast.Constant):
            return True
        if self._is_quoting_call(node):
            return True
        if isinstance(node, ast.Name):
            return node.id in self._quoted[-1]
        if isinstance(node, ast.JoinedStr):
            return all(self._safe(v) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return self._safe(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            return self._safe(node.left) and self._safe(node.right)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join"
            and isinstance(node.func.value, ast.Constant)
            and len(node.args) == 1
        ):
            items = node.args[0]
            if isinstance(items, ast.GeneratorExp | ast.ListComp):
                return self._safe(items.elt)
            if isinstance(items, ast.List | ast.Tuple):
                return all(self._safe(e) for e in items.elts)
        return False

    @staticmethod
    def _is_built(node: ast.AST) -> bool:
        """Whether ``node`` builds a string at run time (the forms this check judges)."""
        if isinstance(node, ast.JoinedStr):
            return any(isinstance(v, ast.FormattedValue) for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            return True
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("format", "join")
        )

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._quoted.append(set(self._quoted[-1]))
        self.generic_visit(node)
        self._quoted.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def _literal(self, node: ast.AST) -> bool:
        """A value fixed in the code: a constant, a choice between constants, or a tuple
        or list of them."""
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.IfExp):
            return self._literal(node.body) and self._literal(node.orelse)
        if isinstance(node, ast.Tuple | ast.List):
            return all(self._literal(e) for e in node.elts)
        return False

    def _bind(self, target: ast.AST, safe: bool) -> None:
        names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        for name in names:
            if safe:
                self._quoted[-1].add(name)
            else:
                self._quoted[-1].discard(name)

    def visit_Assign(self, node: ast.Assign) -> None:
        safe = self._literal(node.value) or self._safe(node.value)
        for target in node.targets:
            self._bind(target, safe)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        # ``for table, expr in (("a", "x"), ("b", "y")):`` binds literals only.
        self._bind(node.target, self._literal(node.iter))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if name in SQL_CALLS:
            statement = node.args[0] if node.args else None
            for keyword in node.keywords:
                if keyword.arg in ("statement", "text"):
                    statement = keyword.value
            if statement is not None and self._is_built(statement) and not self._safe(statement):
                self.violations.append(
                    Violation(self.file, node.lineno, name or "", ast.unparse(statement))
                )
        self.generic_visit(node)


def check_source(source: str, file: str = "<snippet>") -> list[Violation]:
    """The violations in one module's source."""
    wrappers = frozenset(name for (path, name) in QUOTING_WRAPPERS if path == file)
    checker = _Checker(file, wrappers)
    checker.visit(ast.parse(source))
    return checker.violations


def source_files() -> list[Path]:
    """Every Python module of the services and libraries (tests excluded)."""
    roots = [*REPO.glob("services/*/src"), *REPO.glob("libs/*/src")]
    return sorted(p for root in roots for p in root.rglob("*.py"))


@pytest.mark.static
def test_sql_is_built_only_with_bound_parameters() -> None:
    files = source_files()
    assert len(files) > 50, "the services' sources were not found"
    found = [
        v for path in files for v in check_source(path.read_text(), str(path.relative_to(REPO)))
    ]
    assert found == [], "SQL built from values:\n" + "\n".join(map(str, found))


@pytest.mark.static
def test_the_listed_quoting_wrappers_exist() -> None:
    """A listed exception that no longer exists is removed from the list, not kept."""
    for path, name in QUOTING_WRAPPERS:
        tree = ast.parse((REPO / path).read_text())
        defined = {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in defined, f"{path} no longer defines {name}"


@pytest.mark.static
@pytest.mark.parametrize(
    "snippet",
    [
        "sa.text(f\"SELECT * FROM clients WHERE phone = '{value}'\")",
        "sa.text(\"SELECT * FROM clients WHERE phone = '%s'\" % value)",
        'sa.text("SELECT * FROM clients WHERE phone = \'" + value + "\'")',
        "sa.text(\"SELECT * FROM clients WHERE phone = '{}'\".format(value))",
        'await conn.execute(f"DELETE FROM touches WHERE id = {touch_id}")',
        'await conn.exec_driver_sql("DROP TABLE " + name)',
        'await session.scalar(sa.text(f"SELECT {column} FROM t"))',
        'sa.text(f"DROP DATABASE {engine.dialect.identifier_preparer.quote(a)} {b}")',
    ],
)
def test_values_in_sql_strings_are_caught(snippet: str) -> None:
    source = "async def f(sa, conn, session, engine, value, touch_id, name, column, a, b):\n"
    source += f"    {snippet}\n"
    assert len(check_source(source)) == 1, snippet


@pytest.mark.static
@pytest.mark.parametrize(
    "snippet",
    [
        'sa.text("SELECT * FROM clients WHERE phone = :phone").bindparams(phone=value)',
        'await conn.execute(sa.text("SELECT 1"))',
        'sa.text(f"DROP DATABASE {engine.dialect.identifier_preparer.quote(value)}")',
        'sa.text("SELECT " "1")',
    ],
)
def test_bound_parameters_and_quoted_identifiers_pass(snippet: str) -> None:
    source = f"async def f(sa, conn, engine, value):\n    {snippet}\n"
    assert check_source(source) == [], snippet


@pytest.mark.static
def test_a_variable_holding_a_quoted_identifier_passes_and_one_holding_a_value_does_not() -> None:
    source = (
        "async def drop(admin, conn, sa, name, value):\n"
        "    quoted = admin.dialect.identifier_preparer.quote(name)\n"
        '    await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}"))\n'
        "    raw = value\n"
        '    await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {raw}"))\n'
    )
    found = check_source(source)
    assert [v.line for v in found] == [5]


@pytest.mark.static
def test_names_bound_to_literals_pass_and_loops_over_values_do_not() -> None:
    source = (
        'NAME = "ex_no_overlap"\n'
        "def upgrade(op, rows):\n"
        '    op.execute(f"ALTER TABLE t ADD CONSTRAINT {NAME} CHECK (true)")\n'
        '    for table, expr in (("a", "x"), ("b", "y")):\n'
        '        keys = "k, " if table == "a" else ""\n'
        '        op.execute(f"INSERT INTO {table} SELECT {keys}{expr}")\n'
        "    for table in rows:\n"
        '        op.execute(f"DELETE FROM {table}")\n'
        "    NAME2 = rows[0]\n"
        '    op.execute("DROP " + NAME2)\n'
    )
    assert [v.line for v in check_source(source)] == [8, 10]
