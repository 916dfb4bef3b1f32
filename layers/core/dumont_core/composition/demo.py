"""Demo mode's service: fictitious instances, made from nothing stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dumont_core.composition.providing import provided
from dumont_core.platform.settings import WorkflowSettings, load_settings

if TYPE_CHECKING:
    from dumont_core.demo.service import DemoService


@provided
def demo() -> DemoService:
    from dumont_core.demo.service import DemoService

    # A demo instance takes as long to boot as a real one is said to.
    return DemoService(ready_seconds=load_settings(WorkflowSettings).estimated_ready_seconds)
