"""Client Hub core: the firm's clients, who may see them, and each client's timeline.

Layers point one way: ``api`` and ``workers`` call the services here; ``connectors``
import only ``hub.sync.protocol`` and ``hub.sync.parsed_mail`` (the parsed mail shape).
Nothing in ``hub`` imports ``api`` or ``workers``.
"""

__all__: list[str] = []
