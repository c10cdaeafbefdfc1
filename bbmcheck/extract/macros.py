"""Kernel macros read without the kernel's headers.

The C front end parses one file, without the headers that define the kernel's macros. Some of them
break the parse (an attribute before a function's name, a type as an argument of container_of, an
iterator such as list_for_each_entry followed by a block); others parse as calls and hide what
they mean (unlikely(x) is x, WRITE_ONCE(a, v) is an assignment, BUG_ON(c) ends the path where c
holds). ``rewrite`` turns the first kind, and the second where the primitive map does not give
the name a meaning of its own, into plain C before the file is parsed. Every replacement has the
length of what it replaces and keeps its newlines, so each character of the file stays at its line
and column and every diagnostic points at the code as written; the parsed text differs only
inside the replaced macros (``unlikely(x)`` reads ``(x)``).

What is rewritten:

* attributes (``__must_check``, ``__always_inline``, ``noinline``, ``__section(...)``, ...):
  blanked;
* a type given as an argument (``container_of(p, struct T, m)``): the type's words joined by
  ``_`` (``struct_T``), an identifier;
* an iterator macro followed by a statement (``list_for_each_entry(pos, head, member) { ... }``,
  any name with ``for_each`` in it): ``while`` and its arguments as the condition, so the body is
  unrolled as a loop that runs any number of times;
* ``likely``, ``unlikely``, ``WARN_ON``, ``WARN_ON_ONCE``, ``READ_ONCE``, ``IS_ENABLED``: the
  name blanked, leaving the argument in parentheses;
* ``WRITE_ONCE(a, v)``: the name blanked and the comma made ``=``, an assignment (a store when
  ``a`` is a table entry, by the map's [types]).

``PURE`` names compute a value from their arguments (``BIT``, ``GENMASK``, ``FIELD_GET``,
``ARRAY_SIZE``, ``container_of`` ...) and ``BUGS`` stop the path where their argument holds
(``BUG_ON``): the front end reads those calls so (see c_paths). A guess, such as an unknown name
with ``for_each`` in it read as a loop, or an unknown ALL_CAPS call read as a function call, is a
``Guess``: the front end says each once, where it is first used in the code it walks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ATTRIBUTES = frozenset("""
__must_check __always_inline noinline __noinline __init __exit __ref __maybe_unused __always_unused
__used __unused __cold __hot notrace __weak __pure __iomem __rcu __user __percpu __force __kernel
__ro_after_init __initdata __initconst __read_mostly __noreturn __nocfi __flatten noinstr __kprobes
__packed __attribute_const__ __visible asmlinkage __must_hold_rcu __private __safe __nocast
__bitwise __latent_entropy __randomize_layout __no_kasan __no_sanitize_address __noclone
__init_or_module __meminit __cpuinit __hyp_text __noscs __no_stack_protector __counted_by_ptr
""".split())
# attributes written with an argument list, blanked with it
ATTRIBUTES_WITH_ARGS = frozenset("""
__section __aligned __printf __scanf __acquires __releases __must_hold __cond_acquires __cond_releases
__alloc_size __malloc __assume_aligned __counted_by __nonstring __guarded_by __pt_guarded_by
__designated_init __diag_ignore __access __nonnull
""".split())
# iterators that take a statement after them, read as while loops (any name containing
# "for_each" is guessed to be one; these are known)
LOOPS = frozenset("""
list_for_each list_for_each_safe list_for_each_entry list_for_each_entry_safe list_for_each_entry_reverse
list_for_each_entry_continue list_for_each_entry_rcu list_for_each_entry_from hlist_for_each
hlist_for_each_entry hlist_for_each_entry_safe hlist_for_each_entry_rcu for_each_possible_cpu
for_each_online_cpu for_each_present_cpu for_each_cpu for_each_set_bit for_each_clear_bit
for_each_node for_each_online_node for_each_mem_range for_each_mem_pfn_range for_each_sg
for_each_set_bitrange xa_for_each rbtree_postorder_for_each_entry_safe
""".split())
# the argument is the value (as a truth, the same)
VALUE = frozenset("likely unlikely WARN_ON WARN_ON_ONCE VM_WARN_ON VM_WARN_ON_ONCE READ_ONCE IS_ENABLED data_race"
                   .split())
STORE = frozenset({"WRITE_ONCE"})
# a value from the arguments alone; the front end takes these calls as pure and records none
PURE = frozenset("""
ARRAY_SIZE BIT BIT_ULL GENMASK GENMASK_ULL FIELD_GET FIELD_PREP FIELD_FIT FIELD_MAX container_of
container_of_const list_entry list_first_entry list_last_entry list_next_entry list_prev_entry
hlist_entry rb_entry ALIGN ALIGN_DOWN IS_ALIGNED PTR_ALIGN PAGE_ALIGN PAGE_ALIGN_DOWN min max min_t
max_t clamp clamp_t round_up round_down DIV_ROUND_UP upper_32_bits lower_32_bits __pa __va
virt_to_phys phys_to_virt __pa_symbol lm_alias sizeof_field typecheck
""".split())
# the path where the argument holds does not go on (the kernel stops)
BUGS = frozenset("BUG_ON VM_BUG_ON BUG_ON_ONCE".split())
# a name whose meaning the primitive map may give instead (then it is left as a call)
MEANING = VALUE | STORE | PURE | BUGS
# words before which a type argument is native C
_TYPE_OPERATORS = frozenset("sizeof offsetof _Alignof alignof __alignof__ typeof __typeof__ _Generic "
                            "__builtin_offsetof __builtin_types_compatible_p".split())
KNOWN = ATTRIBUTES | ATTRIBUTES_WITH_ARGS | LOOPS | MEANING | frozenset({"BUILD_BUG_ON", "BUG", "WARN"})

_TOKEN = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|(?P<name>[A-Za-z_]\w*)", re.S)
_TYPE_ARG = re.compile(r"\s*(?:const\s+|volatile\s+)*(struct|union|enum)(\s+)[A-Za-z_]\w*\s*\**\s*", re.S)
_CAPS = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")


@dataclass(frozen=True)
class Guess:
    name: str
    offset: int  # where the name is, in characters of the text
    what: str  # what it was read as


def rewrite(text: str, keep: frozenset[str] = frozenset()) -> tuple[str, tuple[Guess, ...]]:
    """``text`` with the macros above made plain C, each replacement the length of what it
    replaces; the guesses made. ``keep``: names the primitive map gives a meaning, left alone."""
    out = list(text)
    guesses: list[Guess] = []
    for m in _TOKEN.finditer(text):
        name = m.group("name")
        if name is None:
            continue
        start, end = m.span()
        if start and text[start - 1] == "#" or _in_directive(text, start):
            continue  # a preprocessor line: its words are not parsed as C
        opening = _skip_space(text, end)
        call = opening < len(text) and text[opening] == "("
        if name in ATTRIBUTES:
            _blank(out, start, end)
            continue
        if name in ATTRIBUTES_WITH_ARGS and call:
            got = _call(text, opening)
            if got is not None:
                _blank(out, start, got[0] + 1)
            continue
        if not call or name in keep:
            continue
        got = _call(text, opening)
        if got is None:
            continue
        close, args = got
        after = _skip_space(text, close + 1)
        follows_statement = after < len(text) and (text[after] == "{" or _starts_statement(text, after))
        if follows_statement and (name in LOOPS or "for_each" in name) and len(name) >= len("while"):
            out[start:end] = list("while".ljust(end - start))
            if name not in LOOPS:
                guesses.append(Guess(name, start, "a loop over its arguments (each time round, or not)"))
            continue
        if name in VALUE:
            _blank(out, start, end)
            continue
        if name in STORE and len(args) == 2:
            _blank(out, start, end)
            out[args[0][1]] = "="
            continue
        if name not in _TYPE_OPERATORS:
            typed = False
            for a_start, a_end in args:
                t = _TYPE_ARG.fullmatch(text, a_start, a_end)
                if t is not None:
                    for k in range(t.start(2), t.end(2)):
                        if out[k] not in "\r\n":
                            out[k] = "_"
                    typed = True
            if typed and name not in KNOWN:
                guesses.append(Guess(name, start, "a call whose type argument is a name"))
                continue
        if name not in KNOWN and _CAPS.fullmatch(name):
            guesses.append(Guess(name, start, "a function call (a macro whose definition bbmcheck has not seen)"))
    rewritten = "".join(out)
    assert len(rewritten) == len(text)
    return rewritten, tuple(guesses)


def _blank(out: list[str], start: int, end: int) -> None:
    for k in range(start, end):
        if out[k] not in "\r\n":
            out[k] = " "


def _skip_space(text: str, k: int) -> int:
    while k < len(text):
        if text[k].isspace():
            k += 1
        elif text.startswith("/*", k):
            e = text.find("*/", k + 2)
            k = len(text) if e < 0 else e + 2
        elif text.startswith("//", k):
            e = text.find("\n", k)
            k = len(text) if e < 0 else e
        else:
            break
    return k


def _call(text: str, opening: int) -> tuple[int, list[tuple[int, int]]] | None:
    """For the '(' at ``opening``: the index of the ')' that closes it and the spans of its
    top-level arguments, each ending at its comma or at the ')' (strings and comments skipped);
    None when it is not closed by a ')'."""
    spans: list[tuple[int, int]] = []
    depth, start, k = 0, opening + 1, opening
    while k < len(text):
        ch = text[k]
        if ch in "\"'":
            m = _TOKEN.match(text, k)
            k = m.end() if m is not None else k + 1
            continue
        if text.startswith("/*", k) or text.startswith("//", k):
            k = _skip_space(text, k)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                if ch != ")":
                    return None
                if text[start:k].strip() or spans:
                    spans.append((start, k))
                return k, spans
        elif ch == "," and depth == 1:
            spans.append((start, k))
            start = k + 1
        k += 1
    return None


_STATEMENT_WORDS = frozenset("if for while do switch return goto break continue".split())


def _starts_statement(text: str, k: int) -> bool:
    """Whether a statement (not an operator or ';') starts at ``k``: after ``NAME(...)`` that makes
    NAME an iterator."""
    m = re.compile(r"[A-Za-z_]\w*").match(text, k)
    if m is None:
        return False
    after = _skip_space(text, m.end())
    # `f(x) g(y);` or `f(x) if (...)`: a statement; `f(x) ? a : b` is not (no word starts it)
    return m.group(0) in _STATEMENT_WORDS or (after < len(text) and text[after] in "(=;[.-+*&")


def _in_directive(text: str, k: int) -> bool:
    """Whether ``k`` is on a preprocessor line (one whose first non-blank character is '#', or a
    continuation of one)."""
    line_start = text.rfind("\n", 0, k) + 1
    while True:
        if text[line_start:k].lstrip().startswith("#"):
            return True
        if line_start < 2 or text[line_start - 2] != "\\":
            return False
        k = line_start - 1
        line_start = text.rfind("\n", 0, k) + 1
