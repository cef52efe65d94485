"""Notifications: messages to new owners, their managers and channels, after the push, never twice.

:mod:`.outbox` plans and sends (one warehouse row per message), :mod:`.messages` words them,
:mod:`.channels` delivers through apprise from the environment, :mod:`.digest` writes each
manager's daily digest and :mod:`.status` reports the outbox.
"""
