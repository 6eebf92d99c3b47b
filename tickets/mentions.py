"""@mentions in internal notes (pure, no Django imports): which usernames a text names, and where.

A mention is `@` followed by a username (letters, digits and `. @ + - _`, as Django allows) that does
not continue a word or an address: `@lena` and `(@lena)` mention lena, `bob@example.com` mentions
nobody. Trailing sentence punctuation is not part of the name (`@lena.` is lena).
"""

import re

MENTION = re.compile(r"(?<![\w.@+-])@(\w(?:[\w.@+-]*\w)?)")
# A note naming more people than this notifies the first ones only (a pasted list is no mention).
MAX_MENTIONS = 20


def mentioned_usernames(text: str) -> list[str]:
    """The usernames mentioned in `text`, first mention first, each once (case-insensitively)."""
    names, seen = [], set()
    for match in MENTION.finditer(text or ""):
        name = match.group(1)
        if name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
        if len(names) == MAX_MENTIONS:
            break
    return names
