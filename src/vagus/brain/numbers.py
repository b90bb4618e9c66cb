"""Numbers, dates, times, units and money as words, for the voice.

A TTS front end reads "$5.50" as "dollar five point five zero", "2026-12-01" digit by digit, "°C" not
at all. Language models write these all the time. This turns them into the words a person would
say, with num2words (English cardinals, ordinals, years) and cn2an (Chinese numerals), before the
text reaches the voice; what the page and the conversation show stays as the model wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from num2words import num2words

from vagus.brain.speech_text import CJK

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", "")}  # fmt: skip
_UNITS = {
    "km/h": ("kilometre per hour", "kilometres per hour"), "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometre", "kilometres"), "cm": ("centimetre", "centimetres"), "mm": ("millimetre", "millimetres"),
    "m": ("metre", "metres"), "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"), "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"), "ml": ("millilitre", "millilitres"), "l": ("litre", "litres"),
    "°C": ("degree Celsius", "degrees Celsius"), "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"), "%": ("percent", "percent"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "GB": ("gigabyte", "gigabytes"), "MB": ("megabyte", "megabytes"), "ms": ("millisecond", "milliseconds"),
}  # fmt: skip
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?:\s*([ap])\.?\s?m\b\.?)?", re.IGNORECASE)
_HOUR_AMPM = re.compile(r"\b(\d{1,2})\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
_MONEY = re.compile(r"(?<![\w.])(-)?([$€£¥])\s?(" + _NUM + r")(?:\s?(million|billion|thousand))?")
_UNIT_NAMES = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_UNIT_NUMBER = re.compile(r"(?<![\w.])(-?)(" + _NUM + r")\s?(" + _UNIT_NAMES + r")(?![\w/])")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(in|since|by|from|until|of|year|around|before|after)\s+(1[1-9]\d\d|20\d\d)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])(-?)(" + _NUM + r")(?![\w])")


def _cardinal(text: str) -> str:
    """ "1,234.5" → "one thousand two hundred and thirty-four point five"; long digit strings (a
    phone number, a code) are read digit by digit."""
    plain = text.replace(",", "")
    whole, _, fraction = plain.partition(".")
    if len(whole) > 12 or (len(whole) > 6 and "," not in text and whole.startswith("0")):
        return " ".join(num2words(int(d)) for d in plain if d.isdigit())
    words = num2words(int(whole))
    if fraction:
        words += " point " + " ".join(num2words(int(d)) for d in fraction)
    return str(words).replace(",", "")


def _is_one(number: str) -> bool:
    return number.replace(",", "") in ("1", "1.0")


def _money(match: re.Match[str]) -> str:
    sign, symbol, number, scale = match.group(1), match.group(2), match.group(3), match.group(4)
    one, many, sub_one, sub_many = _CURRENCIES[symbol]
    prefix = "minus " if sign else ""
    if scale:
        return f"{prefix}{_cardinal(number)} {scale} {many}"
    whole, _, cents = number.replace(",", "").partition(".")
    words = f"{prefix}{_cardinal(whole)} {one if whole == '1' else many}"
    if cents and int(cents) and sub_one:
        value = int((cents + "0")[:2])
        words += f" {_cardinal(str(value))} {sub_one if value == 1 else sub_many}"
    return words


def _unit(match: re.Match[str]) -> str:
    sign, number, unit = match.group(1), match.group(2), match.group(3)
    one, many = _UNITS[unit]
    return f"{'minus ' if sign else ''}{_cardinal(number)} {one if _is_one(number) and not sign else many}"


def _clock(hour: int, minute: int, half: str | None) -> str:
    words = _cardinal(str(hour))
    if minute:
        words += " " + ("oh " + _cardinal(str(minute)) if minute < 10 else _cardinal(str(minute)))
    elif not half:
        words += " o'clock" if hour <= 12 else " hundred"
    if half:
        words += f" {half.lower()} m"
    return words


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return match.group(0)
    return _clock(hour, minute, match.group(3))


def _hour(match: re.Match[str]) -> str:
    hour = int(match.group(1))
    return _clock(hour, 0, match.group(2)) if 1 <= hour <= 12 else match.group(0)


def _iso_date(match: re.Match[str]) -> str:
    year, month, day = (int(g) for g in match.groups())
    try:
        date(year, month, day)
    except ValueError:
        return match.group(0)
    return f"{_MONTHS[month - 1]} {num2words(day, to='ordinal')}, {num2words(year, to='year')}"


def english(text: str) -> str:
    steps: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
        (_ISO_DATE, _iso_date),
        (_MONEY, _money),
        (_TIME, _time),
        (_HOUR_AMPM, _hour),
        (_UNIT_NUMBER, _unit),
        (_ORDINAL, lambda m: str(num2words(int(m.group(1)), to="ordinal"))),
        (_YEAR, lambda m: f"{m.group(1)} {num2words(int(m.group(2)), to='year')}"),
        (_NUMBER, lambda m: ("minus " if m.group(1) else "") + _cardinal(m.group(2))),
    ]
    for pattern, replace in steps:
        text = pattern.sub(replace, text)
    return text


_ZH_DATE = re.compile(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?")
_ZH_PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)%")
_ZH_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_ZH_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ZH_DIGITS = "零一二三四五六七八九"


def chinese(text: str) -> str:
    from cn2an import an2cn  # type: ignore[import-untyped]

    def year(digits: str) -> str:
        return "".join(_ZH_DIGITS[int(d)] for d in digits)

    def number(digits: str) -> str:
        return str(an2cn(str(int(digits))))

    text = _ZH_DATE.sub(lambda m: f"{year(m.group(1))}年{number(m.group(2))}月{number(m.group(3))}日", text)
    text = _ZH_TIME.sub(
        lambda m: f"{number(m.group(1))}点" + (f"{number(m.group(2))}分" if int(m.group(2)) else "整"), text
    )
    text = _ZH_PERCENT.sub(lambda m: "百分之" + an2cn(m.group(1)), text)
    text = re.sub(r"(\d{1,3}),(?=\d{3})", r"\1", text)
    return _ZH_NUMBER.sub(lambda m: str(an2cn(m.group(0))), text)


def spoken_numbers(text: str) -> str:
    """The text with its numbers, dates, times, units and money in words (Chinese numerals where the
    text is Chinese)."""
    if not any(c.isdigit() for c in text):
        return text
    return chinese(text) if CJK.search(text) else english(text)
