"""A small, safe expression language for a step's `if` and the `${{ … }}` values in its `with`.

    feedback.rating <= 2 and "crash" in lower(feedback.message)
    steps.classify.output.category == "bug"
    settings["feedback.min_submit_ms"] > 0

Written on Python's own parser (`ast.parse(mode="eval")`) with a whitelist of node types, and
evaluated by walking that tree here — never `eval`/`exec`: names and attributes only ever read keys
of the run context's plain data (dicts, lists, text, numbers), calls only reach the functions listed
in FUNCTIONS and METHODS (`expression_functions`, with the size caps).

Bounded before anything is built: every operation that makes a value (repetition, concatenation,
list and dict literals, conversion to text or JSON, join, split) first estimates the result's size
(≈ the characters of its JSON text, shared parts counted each time they appear) and refuses it over
the caps below; each evaluation also has a time budget, checked at every node of the tree.
A missing key reads as `null` (like GitHub Actions), so a condition on absent data is false, not
an error. Why our own: no maintained library offers this small, sandboxed subset with positions.
"""

from __future__ import annotations

import ast
import math
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nous.workflows.expression_functions import (
    FUNCTION_ARITY,
    FUNCTIONS,
    MAX_ITEMS,
    MAX_SIZE,
    MAX_TEXT,
    METHOD_NAMES,
    METHODS,
    EvaluationError,
    as_text,
    capped,
    check_size,
    is_in,
    size,
    text_size,
)

MAX_SOURCE = 2000  # characters in one expression
MAX_NODES = 300  # syntax-tree nodes in one expression
MAX_WITH = 4_000_000  # size of a step's filled-in `with` in all (earlier steps' outputs it passes on included)
TIME_BUDGET = 1.0  # seconds one evaluation (an `if`, or all of a step's `with`) may take
LITERALS = {"true": True, "false": False, "null": None, "none": None, "True": True, "False": False, "None": None}
TEMPLATE_RE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    """The expression is not valid (syntax, a construct or function that is not allowed)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset



# --- checking ----------------------------------------------------------------------------------

_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Add,
    ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt,
    ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.Subscript,
    ast.List, ast.Tuple, ast.Dict, ast.Call, ast.IfExp,
)
_DESCRIBE = {
    ast.Lambda: "lambda", ast.ListComp: "list comprehension", ast.GeneratorExp: "generator",
    ast.DictComp: "dict comprehension", ast.SetComp: "set comprehension", ast.Pow: "** (power)",
    ast.NamedExpr: ":=", ast.Starred: "*unpacking", ast.Slice: "slices", ast.JoinedStr: "f-strings",
    ast.Set: "sets", ast.Await: "await", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
    ast.RShift: ">>", ast.Invert: "~", ast.MatMult: "@",
}


@dataclass(frozen=True)
class Expression:
    source: str
    tree: ast.Expression = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any], time_budget: float | None = None) -> Any:
        """The value on `context`; EvaluationError when it cannot be computed, is too large, or takes
        longer than `time_budget` seconds (TIME_BUDGET when not given)."""
        budget = TIME_BUDGET if time_budget is None else time_budget
        return self.evaluate_until(context, time.monotonic() + budget, budget)

    def evaluate_until(self, context: Mapping[str, Any], deadline: float, budget: float) -> Any:
        try:
            return _Evaluator(context, deadline, budget).visit(self.tree.body)
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError("expression nested too deeply") from None
        except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError) as exc:
            raise EvaluationError(f"{type(exc).__name__}: {exc}") from None

    def references(self) -> set[str]:
        """The step ids this expression reads (`steps.<id>` or `steps["<id>"]`)."""
        found: set[str] = set()
        for node in ast.walk(self.tree):
            target = None
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "steps":
                target = node.attr
            elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "steps"
                  and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
                target = node.slice.value
            if target is not None:
                found.add(target)
        return found


def _check(tree: ast.AST) -> None:
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"expression too complex (more than {MAX_NODES} parts)")
        offset = getattr(node, "col_offset", None)
        if not isinstance(node, _ALLOWED):
            what = _DESCRIBE.get(type(node), type(node).__name__)
            raise ExpressionError(f"{what} is not allowed in an expression", offset)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed ({node.attr})", offset)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed ({node.id})", offset)
        if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool | type(None)):
            raise ExpressionError(f"{type(node.value).__name__} literals are not allowed", offset)
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
            if not all((isinstance(c, ast.Constant) and c.value is None)
                       or (isinstance(c, ast.Name) and c.id in ("null", "none", "None")) for c in node.comparators):
                raise ExpressionError("'is' only compares with null; use == for values", offset)
        if isinstance(node, ast.Call):
            if node.keywords:
                raise ExpressionError("keyword arguments are not allowed", offset)
            if isinstance(node.func, ast.Name):
                name = node.func.id
                if name not in FUNCTIONS:
                    raise ExpressionError(
                        f"unknown function {name}(); the functions are {', '.join(sorted(FUNCTIONS))}", offset)
                low, high = FUNCTION_ARITY[name]
                if not low <= len(node.args) <= high:
                    want = str(low) if low == high else f"{low}–{high}"
                    raise ExpressionError(f"{name}() takes {want} argument(s), got {len(node.args)}", offset)
            elif isinstance(node.func, ast.Attribute):
                if node.func.attr not in METHOD_NAMES:
                    raise ExpressionError(
                        f"unknown method .{node.func.attr}(); the methods are {', '.join(sorted(METHOD_NAMES))}",
                        offset)
            else:
                raise ExpressionError("only named functions can be called", offset)


def compile_expression(source: Any) -> Expression:
    """Parse and check an expression; raises ExpressionError (with the column, when known)."""
    if isinstance(source, bool):
        source = "true" if source else "false"
    if not isinstance(source, str):
        raise ExpressionError("an expression must be text")
    text = source.strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    if match:  # `if: ${{ … }}` is accepted too
        text = match.group(1).strip()
    if not text:
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"expression longer than {MAX_SOURCE} characters")
    if "\n" in text or "\r" in text:
        text = " ".join(text.split())
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}", (exc.offset or 1) - 1) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"cannot parse: {exc}") from None
    _check(tree)
    return Expression(text, tree)


# --- evaluating --------------------------------------------------------------------------------

def _get(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        try:
            return container.get(key)
        except TypeError:  # unhashable key
            return None
    if isinstance(container, list | tuple | str) and isinstance(key, int) and not isinstance(key, bool):
        return container[key] if -len(container) <= key < len(container) else None
    return None


def _order(op: ast.cmpop, left: Any, right: Any) -> bool:
    """<, <=, >, >= between numbers or between texts; anything else (null included) is false."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    texts = isinstance(left, str) and isinstance(right, str)
    if not (numbers or texts):
        return False
    if isinstance(op, ast.Lt):
        return left < right
    if isinstance(op, ast.LtE):
        return left <= right
    if isinstance(op, ast.Gt):
        return left > right
    return left >= right


class _Evaluator:
    def __init__(self, context: Mapping[str, Any], deadline: float, budget: float) -> None:
        self.context = context
        self.deadline = deadline
        self.budget = budget

    def visit(self, node: ast.AST) -> Any:
        if time.monotonic() > self.deadline:
            raise EvaluationError(f"the expression took longer than its time budget of {self.budget:g} s")
        method = getattr(self, f"v_{type(node).__name__}", None)
        if method is None:  # the checker refused it already; this is the belt to its braces
            raise EvaluationError(f"{type(node).__name__} is not allowed")
        return method(node)

    def v_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def v_Name(self, node: ast.Name) -> Any:
        if node.id in LITERALS:
            return LITERALS[node.id]
        return _get(self.context, node.id)

    def v_Attribute(self, node: ast.Attribute) -> Any:
        return _get(self.visit(node.value), node.attr)

    def v_Subscript(self, node: ast.Subscript) -> Any:
        return _get(self.visit(node.value), self.visit(node.slice))

    def v_List(self, node: ast.List) -> list[Any]:
        items = [self.visit(e) for e in node.elts]
        check_size(size(items), MAX_SIZE, "the list")
        return items

    v_Tuple = v_List

    def v_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        out = {}
        for k, v in zip(node.keys, node.values, strict=True):
            key = self.visit(k) if k is not None else None
            if not isinstance(key, str | int | float | bool | type(None)):
                raise EvaluationError("dictionary keys must be text or numbers")
            out[key] = self.visit(v)
        check_size(size(out), MAX_SIZE, "the dictionary")
        return out

    def v_BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for expr in node.values:
            value = self.visit(expr)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def v_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise EvaluationError(f"cannot negate {as_text(value)[:40]!r}")
        return -value if isinstance(node.op, ast.USub) else +value

    def v_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            if isinstance(left, str) or isinstance(right, str):
                check_size(text_size(left) + text_size(right), MAX_TEXT, "the text")
                return capped(as_text(left) + as_text(right))
            if isinstance(left, list) and isinstance(right, list):
                check_size(len(left) + len(right), MAX_ITEMS, "the list", "items")
                check_size(size(left) + size(right), MAX_SIZE, "the list")
                return left + right
        if isinstance(op, ast.Mult):
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list) and isinstance(times, int) and not isinstance(times, bool):
                    times = max(times, 0)
                    if isinstance(seq, str):
                        check_size(len(seq) * times, MAX_TEXT, "the text")
                    else:
                        check_size(len(seq) * times, MAX_ITEMS, "the list", "items")
                        check_size((size(seq) - 2) * times + 2, MAX_SIZE, "the list")
                    return seq * times
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if not numbers:
            raise EvaluationError(f"cannot apply {type(op).__name__.lower()} to "
                                  f"{type(left).__name__} and {type(right).__name__}")
        if isinstance(op, ast.Div | ast.FloorDiv | ast.Mod) and right == 0:
            raise EvaluationError("division by zero")
        result = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right, ast.Mult: lambda: left * right,
                  ast.Div: lambda: left / right, ast.FloorDiv: lambda: left // right,
                  ast.Mod: lambda: left % right}[type(op)]()
        if isinstance(result, float) and not math.isfinite(result):
            raise EvaluationError("the result is not a finite number")
        if isinstance(result, int) and abs(result) > 10**18:
            raise EvaluationError("number too large")
        return result

    def v_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            if isinstance(op, ast.Eq):
                ok = left == right
            elif isinstance(op, ast.NotEq):
                ok = left != right
            elif isinstance(op, ast.In):
                ok = is_in(left, right)
            elif isinstance(op, ast.NotIn):
                ok = not is_in(left, right)
            elif isinstance(op, ast.Is):
                ok = left is None and right is None
            elif isinstance(op, ast.IsNot):
                ok = not (left is None and right is None)
            else:
                ok = _order(op, left, right)
            if not ok:
                return False
            left = right
        return True

    def v_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def v_Call(self, node: ast.Call) -> Any:
        args = [self.visit(a) for a in node.args]
        if isinstance(node.func, ast.Name):
            return capped(FUNCTIONS[node.func.id](*args))
        assert isinstance(node.func, ast.Attribute)
        receiver = self.visit(node.func.value)
        kind = str if isinstance(receiver, str) else dict if isinstance(receiver, Mapping) else \
            list if isinstance(receiver, list) else None
        method = METHODS.get(kind, {}).get(node.func.attr) if kind else None
        if method is None:
            raise EvaluationError(f".{node.func.attr}() cannot be called on {type(receiver).__name__}")
        if kind is dict and not isinstance(receiver, dict):
            receiver = dict(receiver)
        try:
            return capped(method(receiver, *args))
        except TypeError as exc:
            raise EvaluationError(f".{node.func.attr}(): {exc}") from None


# --- templates ---------------------------------------------------------------------------------

def evaluate_condition(source: Any, context: Mapping[str, Any], time_budget: float | None = None) -> bool:
    if isinstance(source, bool):
        return source
    return bool(compile_expression(source).evaluate(context, time_budget))


def template_parts(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every `${{ … }}` expression inside a `with` value: (path to the value, expression source)."""
    if isinstance(value, str):
        for match in TEMPLATE_RE.finditer(value):
            yield path, match.group(1)
        if "${{" in value and not TEMPLATE_RE.search(value):
            yield path, "${{"  # an opening without its closing braces: reported as a syntax error
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from template_parts(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from template_parts(item, (*path, i))


def render(value: Any, context: Mapping[str, Any], time_budget: float | None = None) -> Any:
    """A `with` value with its templates filled in. A string that is exactly one `${{ expr }}` keeps
    the expression's type (a number, a list…); templates inside longer text are written as text.
    One time budget covers every template in `value`, and what they produce together is capped at
    MAX_WITH."""
    budget = TIME_BUDGET if time_budget is None else time_budget
    deadline = time.monotonic() + budget
    produced = 0

    def evaluate(source: str) -> Any:
        nonlocal produced
        result = compile_expression(source).evaluate_until(context, deadline, budget)
        produced += size(result, MAX_WITH - produced)
        check_size(produced, MAX_WITH, "the filled-in values")
        return result

    def fill(v: Any) -> Any:
        if isinstance(v, str):
            if "${{" not in v:
                return v
            whole = TEMPLATE_RE.fullmatch(v.strip())
            if whole and v.strip().count("${{") == 1:
                return evaluate(whole.group(1))
            if not TEMPLATE_RE.search(v):
                raise ExpressionError("'${{' without its closing '}}'")
            return capped(TEMPLATE_RE.sub(lambda m: as_text(evaluate(m.group(1))), v))
        if isinstance(v, dict):
            return {k: fill(item) for k, item in v.items()}
        if isinstance(v, list):
            return [fill(item) for item in v]
        return v

    return fill(value)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "${{" in value
