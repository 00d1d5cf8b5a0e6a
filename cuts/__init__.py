"""Cut review: editors add, remove and move the cuts between scenes, with undo.

An edit changes the Scene rows in one transaction and then re-runs the stages that depend on
scene bounds for the affected scenes only (``cuts.rescene``).
"""
