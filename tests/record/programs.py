"""Source text of the small programs the recorded sessions debug.

Lines the scripts need (breakpoints, expected stops) carry a `MARK:<name>`
comment; `line_of` finds them so the scripts never hard-code line numbers.
"""

DEMO_PY = '''\
"""A tiny program for recording DAP traffic."""


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm2(self):
        return self.x * self.x + self.y * self.y


def helper(n):
    total = 0
    for i in range(n):
        total += i  # MARK:helper-body
    return total


def main():
    data = {"name": "dapkit", "items": [1, 2.5, "three", None], "nested": {"ok": True, "pi": 3.14159}}
    point = Point(3, -4)
    text = "h\\u00e9llo \\u2603 \\"quoted\\"\\ttab"
    total = helper(4)  # MARK:bp-first
    print("total", total, point.norm2(), text)
    values = [total, total * 2, total * 3]  # MARK:bp-conditional
    try:
        raise ValueError("boom from demo")  # MARK:raise
    except ValueError as err:
        print("caught", err)
    print("done", len(values), data["name"])


if __name__ == "__main__":
    main()
'''

ATTACH_PY = '''\
"""A tiny program debugged by attaching to it."""

import sys


def compute(words):
    lengths = {w: len(w) for w in words}
    longest = max(words, key=len)
    return lengths, longest  # MARK:bp


def main():
    words = ["alpha", "beta", "gamma", "\\u00fcber"]
    lengths, longest = compute(words)
    sys.stdout.write("longest=%s %r\\n" % (longest, lengths))


main()
'''

DEMO_C = '''\
#include <stdio.h>
#include <string.h>

struct point {
    int x;
    int y;
    double weight;
    const char *label;
};

static int sum(const int *values, int count) {
    int total = 0;
    for (int i = 0; i < count; i++) {
        total += values[i]; /* MARK:sum-body */
    }
    return total;
}

int main(void) {
    int values[5] = {3, 1, 4, 1, 5};
    struct point p = {7, -2, 0.1, "origin"};
    char name[8];
    strcpy(name, "dapkit");
    int total = sum(values, 5); /* MARK:bp-first */
    p.x += total;
    printf("total=%d x=%d %s\\n", total, p.x, name); /* MARK:bp-second */
    return 0;
}
'''


def line_of(source: str, mark: str) -> int:
    """1-based line number of the line carrying `MARK:<mark>`."""
    tag = "MARK:" + mark
    for number, line in enumerate(source.splitlines(), start=1):
        if tag in line:
            return number
    raise KeyError(f"no line marked {tag}")
