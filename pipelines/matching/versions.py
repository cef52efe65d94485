"""Version numbers of what the warehouse keeps from matching: raise one and a deploy computes it again.

Kept apart from the modules they version so that a quiet tick can ask whether anything is stale
(:mod:`pipelines.matching.pending`) without loading the normalisers and their libraries.
"""

# The accounts' match keys (pipelines.matching.keys and its normalisers): stored keys of an older
# version are recomputed. 4: street lines written in parts ("Flat 3, 25 High St", "Av. Paulista, 1578");
# 5: only the legal forms written before a name in their own legal systems leave its start ("BT Group");
# 6: directions in city names ("W. Hollywood"), and no name where a placeholder stands for one ("N/A").
KEY_VERSION = 6

# How models are learned (pipelines.matching.learn): stored models are learned again.
# 2: partial agreements weigh what the data says; 3: sessions of one free comparison teach it.
LEARNING_METHOD = 3
