"""Safe parser for typed math answers: text in, SymPy expression out.

A real tokenizer and a recursive-descent parser; it never calls ``eval``,
``sympify`` or ``parse_expr`` on the text, so nothing a learner types can run.
Only whitelisted functions, constants and names are accepted. The grammar::

    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/" | implicit) unary)*     3x, 2(x+1), σ(x)(1-σ(x))
    unary   := ("-" | "+") unary | power
    power   := postfix ("^" | "**") unary                right-assoc, -x^2 = -(x^2)
    postfix := primary ("²" | "³" | "!")*                n! is factorial(n)
    primary := number | name | func "(" args ")" | "(" sum ")" | "|" sum "|" | "√" primary
             | "\\frac" group group | "\\sqrt" ["[" sum "]"] group
    group   := "{" sum "}"                               braces are brackets ({ } read as ( ))

LaTeX is read by the tokenizer: ``\\cdot``/``\\times`` are ``*``, ``\\left``/``\\right``
and spacing commands are dropped, ``\\sigma``/``\\tanh``/``\\ln``/Greek letters are names,
``\\log_{10}`` is ``log10``; a subscript ``_`` or an unknown command is refused. ``log(x, b)``,
``log10``, ``log2`` and ``log_b`` are logarithms in base b.

Trees are built unevaluated (``evaluate=False``) so ``describe_reading``
echoes what was typed and a hostile ``10^10^10`` is never computed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .known_functions import FUNCTION_TABLE
from .reading import describe_reading

MAX_LENGTH = 2000
MAX_DEPTH = 60
MAX_DIGITS = 80

__all__ = ["CONSTANTS", "FUNCTIONS", "ParseError", "describe_reading", "parse_expression"]


class ParseError(ValueError):
    """The text is not a valid answer; ``position`` is the 0-based offset of the problem."""

    #: which of several inputs was unreadable ("a" or "b" in ``grader equiv``), when a caller says
    side: str = ""

    def __init__(self, reason: str, text: str, position: int) -> None:
        self.reason = reason
        self.text = text
        self.position = max(0, min(position, len(text)))
        super().__init__(self._message())

    def _message(self) -> str:
        start = max(0, self.position - 30)
        shown = self.text[start:start + 60].replace("\n", " ")
        lead = "..." if start else ""
        caret = " " * (len(lead) + self.position - start) + "^"
        return f"{self.reason} at position {self.position + 1}\n  {lead}{shown}\n  {caret}"


#: function name as typed -> (builder, number of arguments or None for 2+), from the function table
FUNCTIONS: dict[str, tuple[Callable[..., Any], int | None]] = {
    word: (entry.build, entry.arity[0] if entry.arity[0] == entry.arity[1] else None)
    for entry in FUNCTION_TABLE for word in entry.spellings
}

CONSTANTS: dict[str, Any] = {"pi": sp.pi, "π": sp.pi, "e": sp.E, "E": sp.E}

#: Greek letters typed as symbols, so θ and theta name the same variable
GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "ρ": "rho", "τ": "tau",
    "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}
_OPERATORS = {"−": "-", "–": "-", "·": "*", "×": "*", "⋅": "*", "∗": "*", "÷": "/"}
_SUPERSCRIPTS = {"²": 2, "³": 3}
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_LOG_BASE = re.compile(r"^log_?(\d+)$")


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    pos: int


#: LaTeX commands read as operators, brackets or nothing (spacing and sizing)
_LATEX_OPS = {"cdot": "*", "times": "*", "div": "/", "left": "", "right": "", "bigl": "", "bigr": "",
              "Bigl": "", "Bigr": "", ",": "", ";": "", "!": "", ":": "", " ": "", "{": "(", "}": ")",
              "lvert": "|", "rvert": "|", "vert": "|"}
#: LaTeX commands read as names (functions, Greek letters, constants)
_LATEX_NAMES = {"sigma": "σ", "Gamma": "Γ", "pi": "π", "operatorname": "", "mathrm": "", "text": ""}
#: LaTeX commands with their own grammar (read by the parser, not the tokenizer)
_LATEX_FORMS = {"frac": "\\frac", "dfrac": "\\frac", "tfrac": "\\frac", "sqrt": "\\sqrt"}
_SUBSCRIPT_BASE = re.compile(r"\{?\s*(\d+)\s*\}?")
_NO_SUBSCRIPTS = ("subscripts (_) are not supported: name the variable without one (x1 or x), and write "
                  "a logarithm in base b as log(x, b)")
_LATEX_WORD = re.compile(r"\\([A-Za-z]+|[,;!: {}])")


def _latex(text: str, i: int, tokens: list[_Token]) -> int:
    """Read the LaTeX command at ``text[i]`` (a backslash) into ``tokens``; the index after it."""
    m = _LATEX_WORD.match(text, i)
    if not m:
        raise ParseError("a backslash must start a LaTeX command such as \\frac or \\cdot", text, i)
    word = m.group(1)
    if word in _LATEX_OPS:
        if _LATEX_OPS[word]:
            tokens.append(_Token("op", _LATEX_OPS[word], i))
    elif word in _LATEX_FORMS:
        tokens.append(_Token("op", _LATEX_FORMS[word], i))
    elif word in _LATEX_NAMES:
        if word in ("operatorname", "mathrm", "text"):  # \operatorname{relu}: the name in braces
            close = text.find("}", m.end())
            if not text.startswith("{", m.end()) or close < 0:
                raise ParseError(f"\\{word} needs a name in braces, e.g. \\{word}{{relu}}", text, i)
            inner = text[m.end() + 1:close].strip()
            tokens.append(_Token("name", inner, m.end() + 1))
            return close + 1
        tokens.append(_Token("name", _LATEX_NAMES[word], i))
    elif word in FUNCTIONS or word in GREEK.values() or word in CONSTANTS or _LOG_BASE.match(word):
        tokens.append(_Token("name", word, i))
    else:
        raise ParseError(f"unknown LaTeX command \\{word}", text, i)
    return m.end()


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "\\":
            i = _latex(text, i, tokens)
            continue
        if ch == "_" and tokens and tokens[-1].kind == "name" and tokens[-1].pos + len(tokens[-1].text) <= i:
            base = _SUBSCRIPT_BASE.match(text, i + 1)
            if tokens[-1].text == "log" and base:  # \log_{10}, \log_2
                tokens[-1] = _Token("name", "log" + base.group(1), tokens[-1].pos)
                i = base.end()
                continue
            if text.startswith("{", i + 1) or not text[i - 1].isspace():  # x_{1} after a LaTeX name
                raise ParseError(_NO_SUBSCRIPTS, text, i)
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or ch == "."):
            digits = sum(c.isdigit() for c in m.group(0))
            if digits > MAX_DIGITS:
                raise ParseError(f"number too long (more than {MAX_DIGITS} digits)", text, i)
            tokens.append(_Token("num", m.group(0), i))
            i = m.end()
            continue
        if ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_") and text[j] not in _SUPERSCRIPTS:
                j += 1
            tokens.append(_Token("name", text[i:j], i))
            i = j
            continue
        if text.startswith("**", i):
            tokens.append(_Token("op", "^", i))
            i += 2
            continue
        if ch in "+-*/^()[],|!" or ch in _OPERATORS or ch in _SUPERSCRIPTS or ch == "√":
            tokens.append(_Token("op", _OPERATORS.get(ch, ch), i))
            i += 1
            continue
        if ch in "{}":  # LaTeX grouping: braces are brackets
            tokens.append(_Token("op", "(" if ch == "{" else ")", i))
            i += 1
            continue
        hint = {"=": ": give an expression, not an equation"}.get(ch, "")
        if ch in "'\"":
            hint = ": quotes are not part of a math answer"
        raise ParseError(f"unexpected character {ch!r}{hint}", text, i)
    tokens.append(_Token("end", "", n))
    return tokens


_CLOSE = {"(": ")", "[": "]"}


class _Parser:
    """Recursive descent over the token list; one instance per parse."""

    def __init__(self, text: str, variables: dict[str, sp.Symbol]) -> None:
        self.text = text
        self.variables = variables
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.abs_depth = 0

    # -- helpers -------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def error(self, reason: str, tok: _Token | None = None) -> ParseError:
        return ParseError(reason, self.text, (tok or self.tok).pos)

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, op: str, opened: _Token) -> None:
        if self.tok.kind == "op" and self.tok.text == op:
            self.i += 1
            return
        found = "the end of the answer" if self.tok.kind == "end" else repr(self.tok.text)
        raise self.error(f"expected {op!r} to close the {opened.text!r} opened at position "
                         f"{opened.pos + 1}, found {found}")

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"too deeply nested (more than {MAX_DEPTH} levels)")

    # -- grammar -------------------------------------------------------------
    def parse(self) -> Any:
        if self.tok.kind == "end":
            raise self.error("the answer is empty")
        expr = self.sum()
        if self.tok.kind != "end":
            tok = self.tok
            if tok.text in (")", "]"):
                raise self.error(f"unmatched {tok.text!r}")
            if tok.text == ",":
                raise self.error("unexpected ',': write decimals with a point (2.5), one expression per answer")
            raise self.error(f"unexpected {tok.text!r}")
        return expr

    def sum(self) -> Any:
        self.nest()
        terms = [self.term()]
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.take().text
            t = self.term()
            if op == "-":
                t = -t if isinstance(t, sp.Number) else sp.Mul(sp.S.NegativeOne, t, evaluate=False)
            terms.append(t)
        self.depth -= 1
        return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)

    def starts_primary(self) -> bool:
        tok = self.tok
        if tok.kind in ("num", "name"):
            return True
        if tok.kind == "op":
            return tok.text in ("(", "[", "√", "\\frac", "\\sqrt") or (tok.text == "|" and self.abs_depth == 0)
        return False

    def term(self) -> Any:
        factors = [self.unary()]
        while True:
            tok = self.tok
            if tok.kind == "op" and tok.text in ("*", "/"):
                self.take()
                if self.tok.kind == "op" and self.tok.text in ("*", "/"):
                    raise self.error(f"two operators in a row: {tok.text!r} then {self.tok.text!r}")
                f = self.unary()
                if tok.text == "*":
                    factors.append(f)
                elif isinstance(f, sp.Integer) and isinstance(factors[-1], sp.Integer) and f != 0:
                    factors[-1] = sp.Rational(factors[-1], f)  # 1/2 is the number one half
                else:
                    factors.append(sp.Pow(f, -1, evaluate=False))
            elif tok.kind == "num" and self.tokens[self.i - 1].kind == "num":
                raise self.error("two numbers in a row: put an operator between them")
            elif self.starts_primary():
                factors.append(self.power())
            else:
                break
        return factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)

    def unary(self) -> Any:
        tok = self.tok
        if tok.kind == "op" and tok.text in "+-":
            self.take()
            self.nest()
            if self.tok.kind == "op" and self.tok.text in ("*", "/", "^", ")", "]"):
                raise self.error(f"{self.tok.text!r} cannot follow {tok.text!r}")
            inner = self.unary()
            self.depth -= 1
            if tok.text == "+":
                return inner
            if isinstance(inner, sp.Number):
                return -inner
            return sp.Mul(sp.S.NegativeOne, inner, evaluate=False)
        return self.power()

    def power(self) -> Any:
        base = self.postfix()
        if self.tok.kind == "op" and self.tok.text == "^":
            self.take()
            self.nest()
            if self.tok.kind == "end" or (self.tok.kind == "op" and self.tok.text in ("*", "/", "^", ")", "]", ",")):
                raise self.error("missing exponent after '^'")
            ex = self.unary()
            self.depth -= 1
            return sp.Pow(base, ex, evaluate=False)
        return base

    def postfix(self) -> Any:
        expr = self.primary()
        while self.tok.kind == "op" and (self.tok.text in _SUPERSCRIPTS or self.tok.text == "!"):
            op = self.take().text
            if op == "!":  # n! is factorial(n)
                expr = sp.factorial(expr, evaluate=False)
            else:
                expr = sp.Pow(expr, _SUPERSCRIPTS[op], evaluate=False)
        return expr

    def primary(self) -> Any:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            return _number(tok.text)
        if tok.kind == "name":
            return self.name()
        if tok.kind == "op" and tok.text in ("(", "["):
            self.take()
            if self.tok.kind == "op" and self.tok.text == _CLOSE[tok.text]:
                raise self.error("empty brackets")
            self.nest()
            inner = self.sum()
            self.depth -= 1
            self.expect(_CLOSE[tok.text], tok)
            return inner
        if tok.kind == "op" and tok.text == "|":
            self.take()
            self.abs_depth += 1
            self.nest()
            inner = self.sum()
            self.depth -= 1
            self.abs_depth -= 1
            self.expect("|", tok)
            return sp.Abs(inner, evaluate=False)
        if tok.kind == "op" and tok.text == "√":
            self.take()
            self.nest()
            inner = self.postfix()
            self.depth -= 1
            return sp.Pow(inner, sp.Rational(1, 2), evaluate=False)
        if tok.kind == "op" and tok.text == "\\frac":  # \frac{a}{b}
            self.take()
            self.nest()
            top = self.group(tok, "numerator")
            bottom = self.group(tok, "denominator")
            self.depth -= 1
            if isinstance(top, sp.Integer) and isinstance(bottom, sp.Integer) and bottom != 0:
                return sp.Rational(top, bottom)
            return sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)
        if tok.kind == "op" and tok.text == "\\sqrt":  # \sqrt{x}, \sqrt[n]{x}
            self.take()
            self.nest()
            index: Any = sp.Integer(2)
            if self.tok.kind == "op" and self.tok.text == "[":
                opened = self.take()
                index = self.sum()
                self.expect("]", opened)
            inner = self.group(tok, "radicand")
            self.depth -= 1
            return sp.Pow(inner, sp.Pow(index, -1) if isinstance(index, sp.Integer) else
                          sp.Pow(index, -1, evaluate=False), evaluate=False)
        if tok.kind == "end":
            raise self.error("the answer ends too early: something is missing")
        if tok.text in (")", "]"):
            raise self.error(f"unmatched {tok.text!r}" if self.depth <= 1 else f"nothing before {tok.text!r}")
        raise self.error(f"unexpected {tok.text!r}")

    def group(self, command: _Token, what: str) -> Any:
        """A LaTeX argument in braces (read as brackets) after ``command``."""
        if not (self.tok.kind == "op" and self.tok.text == "("):
            raise self.error(f"{command.text} needs its {what} in braces, e.g. \\frac{{1}}{{x}}")
        return self.primary()

    def name(self) -> Any:
        tok = self.take()
        word = tok.text
        follows_paren = self.tok.kind == "op" and self.tok.text in ("(", "[", "^")
        if word in self.variables and not (follows_paren and word in FUNCTIONS):
            return self.variables[word]
        if word in GREEK and GREEK[word] in self.variables:
            return self.variables[GREEK[word]]
        if word in FUNCTIONS or _LOG_BASE.match(word):
            return self.call(tok)
        if word in CONSTANTS:
            return CONSTANTS[word]
        pieces = self.split(word)
        if pieces is not None:  # re-read "xy" as the names x and y, multiplied implicitly
            offsets = [sum(len(p) for p in pieces[:k]) for k in range(len(pieces))]
            self.tokens[self.i - 1:self.i] = [_Token("name", p, tok.pos + o) for p, o in zip(pieces, offsets)]
            self.i -= 1
            return self.name()
        if "_" in word and not word.startswith("_"):  # x_1; a dunder name is refused below as not valid
            raise self.error(_NO_SUBSCRIPTS, tok)
        if follows_paren and len(word) > 1 and self.tok.text == "(":
            raise self.error(f"unknown function {word!r} (known: sin, cos, tan, exp, ln, log, sqrt, abs, "
                             "σ or sigmoid, softplus, relu, sinh, cosh, tanh, sech, arctan, max, min, ...)", tok)
        if self.variables:
            allowed = ", ".join(sorted(self.variables))
            raise self.error(f"unknown name {word!r}: the variables here are {allowed}", tok)
        if not word.isidentifier() or word.startswith("_"):
            raise self.error(f"{word!r} is not a valid name", tok)
        return sp.Symbol(GREEK.get(word, word), real=True)

    def split(self, word: str) -> list[str] | None:
        """Split ``xy`` or ``xsin`` into known names (longest first), if the variables allow it."""
        if not self.variables:
            return None
        known = set(self.variables) | set(CONSTANTS) | {g for g, n in GREEK.items() if n in self.variables}
        funcs = set(FUNCTIONS) if self.tok.kind == "op" and self.tok.text == "(" else set()
        best: list[str] | None = None

        def walk(rest: str, acc: list[str]) -> bool:
            nonlocal best
            if not rest:
                best = acc
                return True
            for k in range(len(rest), 0, -1):
                head = rest[:k]
                if (head in known or (head in funcs and k == len(rest))) and walk(rest[k:], acc + [head]):
                    return True
            return False

        if len(word) <= 12 and walk(word, []) and best is not None and len(best) > 1:
            return best
        return None

    def call(self, tok: _Token) -> Any:
        word = tok.text
        power = None
        if self.tok.kind == "op" and self.tok.text in _SUPERSCRIPTS:  # sin²(x)
            power = sp.Integer(_SUPERSCRIPTS[self.take().text])
        elif self.tok.kind == "op" and self.tok.text == "^":  # sin^2(x) means sin(x)^2
            caret = self.take()
            if self.tok.kind != "num" or "." in self.tok.text:
                raise self.error(f"after {word}^ write a whole number and then the argument, e.g. {word}^2(x)",
                                 caret)
            power = _number(self.take().text)
        if not (self.tok.kind == "op" and self.tok.text in ("(", "[")):
            raise self.error(f"{word} needs its argument in brackets, e.g. {word}(x)", tok)
        opened = self.take()
        self.nest()
        args = [self.sum()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self.take()
            args.append(self.sum())
        self.depth -= 1
        self.expect(_CLOSE[opened.text], opened)
        base = _LOG_BASE.match(word)
        if word in ("log", "ln") and len(args) == 2:  # log(x, b): the logarithm in base b
            value = sp.Mul(sp.log(args[0], evaluate=False), sp.Pow(sp.log(args[1], evaluate=False), -1,
                                                                   evaluate=False), evaluate=False)
        elif base:
            if len(args) != 1:
                raise self.error(f"{word} takes one argument", tok)
            value = sp.Mul(sp.log(args[0], evaluate=False),
                           sp.Pow(sp.log(sp.Integer(base.group(1)), evaluate=False), -1, evaluate=False),
                           evaluate=False)
        else:
            build, arity = FUNCTIONS[word]
            if arity is None and len(args) < 2:
                raise self.error(f"{word} takes two or more arguments separated by commas", tok)
            if arity is not None and len(args) != arity:
                extra = ""
                raise self.error(f"{word} takes {arity} argument{'s' if arity > 1 else ''}, "
                                 f"got {len(args)}{extra}", tok)
            value = build(*args)
        return sp.Pow(value, power, evaluate=False) if power is not None else value


def _number(text: str) -> Any:
    if re.fullmatch(r"\d+", text):
        return sp.Integer(int(text))
    digits = sum(c.isdigit() for c in text)
    return sp.Float(text, max(15, digits + 2))


def _symbol_table(variables: Sequence[Any]) -> dict[str, sp.Symbol]:
    table: dict[str, sp.Symbol] = {}
    for v in variables:
        if isinstance(v, sp.Symbol):
            table[v.name] = v
        elif isinstance(v, str):
            table[v] = sp.Symbol(v, real=True)
        elif hasattr(v, "assumptions") and hasattr(v, "name"):  # a spec.Variable
            table[v.name] = sp.Symbol(v.name, **v.assumptions())
        else:
            raise TypeError(f"variables must be names, SymPy symbols or spec.Variable, not {type(v).__name__}")
    return table


def parse_expression(text: str, variables: Sequence[Any] = ()) -> Any:
    """Parse a typed answer into an unevaluated SymPy expression.

    ``variables`` (names, SymPy symbols or ``spec.Variable``) are the only free
    names allowed, and let ``xy`` read as ``x*y``; with none given, any plain
    name becomes a real symbol. Raises ParseError with the position on bad input.
    """
    if not isinstance(text, str):
        raise TypeError("parse_expression takes a string")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the answer is too long ({len(text)} characters, at most {MAX_LENGTH})",
                         text[:MAX_LENGTH], MAX_LENGTH)
    return _Parser(text, _symbol_table(variables)).parse()
