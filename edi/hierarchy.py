"""HL hierarchical levels (270/271, 276/277, 277CA, 837P), tolerant of broken parent pointers.

Each HL names its parent (HL02). Real files get this wrong (duplicate ids, parents that do not
exist), so a node whose parent cannot be found is attached to the nearest preceding node of a
higher level and a warning is recorded: the data under it is still read, and the reader is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from edi.findings import Finding, FindingCode, Severity
from edi.parties import Party, PersonIdentity
from edi.values import ElementReader


@dataclass(slots=True, repr=False)
class HierarchyNode:
    """One HL with what the views learn inside it (organisation or person, birth date)."""

    hl_id: str
    parent_id: str
    level_code: str
    child_code: str
    segment_number: int
    parent: HierarchyNode | None = None
    party: Party | None = None
    person: PersonIdentity | None = None
    birth_date: date | None = None
    gender: str = ""

    def ancestor(self, level_code: str) -> HierarchyNode | None:
        """This node or the nearest ancestor at ``level_code``."""
        node: HierarchyNode | None = self
        while node is not None:
            if node.level_code == level_code:
                return node
            node = node.parent
        return None

    def __repr__(self) -> str:
        return f"HierarchyNode(hl_id={self.hl_id!r}, level_code={self.level_code!r})"


class HierarchyTracker:
    """Builds the HL tree of one transaction, reporting invalid, duplicate and orphan HLs."""

    def __init__(self, reader: ElementReader, findings: list[Finding], level_order: tuple[str, ...]) -> None:
        self.reader = reader
        self.findings = findings
        self.level_order = level_order
        self.nodes: list[HierarchyNode] = []
        self._by_id: dict[str, HierarchyNode] = {}

    def add(self, elements: list[str], number: int) -> HierarchyNode:
        padded = [*elements, "", "", "", ""]
        node = HierarchyNode(padded[1], padded[2], padded[3], padded[4], number)
        if not node.hl_id or not node.level_code:
            self.findings.append(
                self.reader.finding(
                    Severity.ERROR,
                    FindingCode.HL_INVALID,
                    "HL without id (HL01) or level code (HL03)",
                    number,
                    "HL",
                    "HL01" if not node.hl_id else "HL03",
                )
            )
        if node.hl_id in self._by_id:
            self.findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.HL_DUPLICATE_ID,
                    f"HL id {node.hl_id!r} is used again (first at segment {self._by_id[node.hl_id].segment_number})",
                    number,
                    "HL",
                    "HL01",
                )
            )
        node.parent = self._parent_of(node, number)
        self._by_id[node.hl_id] = node
        self.nodes.append(node)
        return node

    def _parent_of(self, node: HierarchyNode, number: int) -> HierarchyNode | None:
        if node.parent_id:
            parent = self._by_id.get(node.parent_id)
            if parent is not None and parent is not node:
                return parent
        fallback = self._nearest_higher_level(node.level_code)
        if node.parent_id or fallback is not None:
            self.findings.append(
                self.reader.finding(
                    Severity.WARNING,
                    FindingCode.HL_UNKNOWN_PARENT,
                    f"HL {node.hl_id!r} (level {node.level_code}) names parent {node.parent_id!r}, "
                    "which is not an earlier HL; attached to the nearest preceding higher level",
                    number,
                    "HL",
                    "HL02",
                )
            )
        return fallback

    def _nearest_higher_level(self, level_code: str) -> HierarchyNode | None:
        if level_code not in self.level_order:
            return self.nodes[-1] if self.nodes else None
        rank = self.level_order.index(level_code)
        if rank == 0:
            return None
        for candidate in reversed(self.nodes):
            if candidate.level_code in self.level_order[:rank]:
                return candidate
        return None
