"""Portal playbooks: the YAML that says how to drive one payer portal, its schema and its loader."""

from portal_adapters.playbook.loader import PlaybookError, discover_playbooks, load_playbook
from portal_adapters.playbook.schema import Playbook

__all__ = ["Playbook", "PlaybookError", "discover_playbooks", "load_playbook"]
