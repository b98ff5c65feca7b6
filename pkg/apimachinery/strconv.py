"""Go's value formatting, so that our error messages read byte for byte like Kubernetes'.

Kubernetes builds its API messages with ``fmt`` verbs: ``%q`` for strings
(``strconv.Quote``), ``%v`` for floats (``strconv.FormatFloat(f, 'g', -1, 64)``). kubectl
users and Porch's own conformance goldens see those exact texts, so the field errors
(:mod:`pkg.apimachinery.field`), label selector errors (:mod:`pkg.apimachinery.labels`)
and validation messages (:mod:`pkg.apimachinery.validation`) format values through here.
"""

from __future__ import annotations

import decimal
import math

__all__ = ["format_float", "quote"]

_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def quote(s: str) -> str:
    """Return ``s`` as Go's ``strconv.Quote`` (the ``%q`` verb) writes it.

    Printable runes stay as they are; the usual C escapes are used where Go uses them;
    other control and non-printable runes become ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``.
    A lone surrogate (a Python string made from invalid UTF-8) is written byte by byte as
    ``\\xNN``, as Go writes invalid UTF-8.
    """
    if s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = ['"']
    for ch in s:
        escaped = _SIMPLE_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
            continue
        if ch.isprintable():
            out.append(ch)
            continue
        cp = ord(ch)
        if 0xD800 <= cp <= 0xDFFF:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        elif cp < 0x80:
            out.append(f"\\x{cp:02x}")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def format_float(f: float) -> str:
    """Return ``f`` as Go's ``%v`` writes a float64 (``strconv.FormatFloat(f, 'g', -1, 64)``):
    shortest round-trip digits, ``%e`` form when the decimal exponent is below -4 or at
    least 6 (``1e+06``, ``1e-05``), plain otherwise (``123456``, ``0.0001``).
    """
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    # repr() gives the shortest digit string that round-trips, exactly as Go's shortest
    # formatting does; only the layout differs.
    sign, digits, exponent = decimal.Decimal(repr(f)).as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    # Decimal point position relative to the digit string (Go's digs.dp).
    dp = len(digits) + exponent
    if ds == "0":
        dp = 1
    exp = dp - 1
    neg = "-" if sign else ""
    # strconv/ftoa.go formatDigits: "%e is used if the exponent from the conversion is
    # less than -4 or greater than or equal to the precision. if precision was the
    # shortest possible, use precision 6 for this decision."
    if exp < -4 or exp >= 6:
        mantissa = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        esign = "-" if exp < 0 else "+"
        return f"{neg}{mantissa}e{esign}{abs(exp):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return f"{neg}{ds}{'0' * (dp - len(ds))}"
    return f"{neg}{ds[:dp]}.{ds[dp:]}"
