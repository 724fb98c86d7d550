#!/usr/bin/python3
"""Opens Statistics > phonehome > Devices in a running Wireshark through its
accessibility interface (AT-SPI) and prints what the dialog shows: a line
"title: TITLE", then a line "row: NAME<TAB>COUNT" per row of the tree (other
programs on the same output, such as the accessibility registry, print
lines of their own).

Run it once Wireshark is on the accessibility bus: a process does not see
applications that register after it started. Exits non-zero, saying why, when the menu
item or the dialog is not there within the time allowed.
"""
import sys
import time

import pyatspi

TIMEOUT = 30


def find(acc, pred, depth=0):
    """The first accessible under `acc` (itself included) that `pred` accepts."""
    if acc is None or depth > 16:
        return None
    if pred(acc):
        return acc
    for i in range(acc.childCount):
        hit = find(acc.getChildAtIndex(i), pred, depth + 1)
        if hit is not None:
            return hit
    return None


def wait_for(what, get):
    """Polls `get` until it returns something, at most TIMEOUT seconds."""
    for _ in range(TIMEOUT * 2):
        hit = get()
        if hit is not None:
            return hit
        time.sleep(0.5)
    sys.exit(f"stats_tree.py: no {what} after {TIMEOUT} s")


def main():
    desktop = pyatspi.Registry.getDesktop(0)
    app = wait_for("Wireshark application on the accessibility bus",
                   lambda: next((a for a in desktop if a is not None and a.name == "Wireshark"), None))
    # Wireshark 4.0 shows the path as a submenu "phonehome" with the item
    # "Devices"; 4.4 and 4.6 as one item named "phonehome/Devices".
    def is_item(a, name):
        return a.getRoleName() in ("menu item", "menu") and a.name == name
    entry = wait_for("Statistics > phonehome menu",
                     lambda: find(app, lambda a: is_item(a, "phonehome") or is_item(a, "phonehome/Devices")))
    item = entry if entry.name == "phonehome/Devices" else find(entry, lambda a: is_item(a, "Devices"))
    if item is None:
        sys.exit("stats_tree.py: the phonehome menu has no Devices item")
    item.queryAction().doAction(0)
    dialog = wait_for("device view dialog",
                      lambda: next((w for w in app if w is not None and w.getRoleName() == "dialog"), None))
    tree = wait_for("tree in the dialog", lambda: find(dialog, lambda a: a.getRoleName() == "tree"))
    # Wireshark fills the tree after a pass over the capture.
    wait_for("rows in the tree", lambda: tree if any(
        tree.getChildAtIndex(i).getRoleName() == "table cell" for i in range(tree.childCount)) else None)
    headers = [tree.getChildAtIndex(i).name for i in range(tree.childCount)
               if tree.getChildAtIndex(i).getRoleName() == "table column header"]
    cells = [tree.getChildAtIndex(i).name for i in range(tree.childCount)
             if tree.getChildAtIndex(i).getRoleName() == "table cell"]
    if not headers or len(cells) % len(headers):
        sys.exit(f"stats_tree.py: {len(cells)} cells do not fill rows of {len(headers)} columns")
    print(f"title: {dialog.name}")
    for row in range(0, len(cells), len(headers)):
        print(f"row: {cells[row]}\t{cells[row + 1]}")


main()
