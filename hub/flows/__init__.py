"""Reactions across domains, called from the interfaces (``api/``) and tasks (``workers/``).

A domain service changes its own rows; what that change means for another domain is done
here, in the same transaction, by calling each domain's service in turn::

    api/ (routers, CLI)        workers/ (tasks)
              \\                  /
               hub/flows/            a new contact or domain re-matches mail; a lowered
                   |                 share level reaches past entries; a changed drive
                   |                 account maps its roots again; syncing an account
    hub/<domain>/ services        clients, staff, timeline, accounts, mail, drive, folders
                   |
    hub/access/                    every access decision
                   |
    hub/<domain>/models.py, hub/sync/, db, settings, errors, naming, ...

No domain package imports this one (``tests/test_layers.py`` holds it), so a lower
service never fans its side effects out into higher ones.
"""
