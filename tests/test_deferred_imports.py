"""A tick that checks and matches a few leads does not load what GX and recordlinkage import unused.

Run in a fresh process: this one has imported everything already. The process checks rows with a
GX suite and matches a lead with the engine, as a tick with one new lead does, then finds none of
the deferred modules run; then it uses each one, by each way of importing it, and each works.
"""

from __future__ import annotations

import subprocess
import sys

from pipelines.deferred_imports import UNUSED

DEFERRED = sorted({name for names in UNUSED.values() for name in names})

# A module each deferred one imports when its code runs: in sys.modules only after that.
INSIDE = {"scipy.stats": "scipy.stats._stats_py", "altair": "altair.vegalite", "sklearn.cluster":
          "sklearn.cluster._kmeans", "sklearn.linear_model": "sklearn.linear_model._logistic",
          "sklearn.svm": "sklearn.svm._classes", "jsonschema": "jsonschema.validators"}

TICK = f"""
import sys, pandas as pd
from pathlib import Path
from pipelines.quality import gx
from pipelines.matching.files import match_records
from pipelines.matching.records import read_records
from pipelines.matching.settings import MatchingSettings

e = gx.expectations()
checked = gx.validate('s', pd.DataFrame({{'a': ['x', None]}}), [e.ExpectColumnValuesToNotBeNull(column='a')], 'a')
folder = Path(sys.argv[1])
(folder / 'leads.csv').write_text('id,company,email\\nL1,Initech,bob@initech.com\\n')
(folder / 'accounts.csv').write_text('id,company,website\\nA1,Initech Systems Inc.,initech.com\\n'
                                     'A2,Globex Corporation,globex.com\\n')
read = lambda name, mapping: read_records(folder / name, 'id', mapping)
leads = read('leads.csv', {{'company': 'company', 'email': 'email'}})
accounts = read('accounts.csv', {{'company': 'company', 'website': 'website'}})
matched = match_records(leads, accounts, MatchingSettings()).iloc[0]['account_id']
print(checked.failing_rows, matched)
inside = {INSIDE!r}
print(*sorted(name for name, module in inside.items() if module in sys.modules) or ['none'])

import scipy.stats                      # by name, as scikit-learn imports it
print('scipy.stats._stats_py' in sys.modules)
print(scipy.stats.norm.cdf(0.0))        # first use runs it
from sklearn import cluster             # from its package, as recordlinkage imports it
print(cluster.KMeans(n_clusters=2, n_init=1).fit([[0.0], [0.1], [5.0]]).n_clusters)
import recordlinkage
print(type(recordlinkage.LogisticRegressionClassifier().kernel).__name__, recordlinkage.SVMClassifier().kernel.C)
import sklearn.svm._classes             # sklearn.linear_model imported sklearn.svm._base before its package ran
base = sys.modules['sklearn.svm._base']
print(sklearn.svm._classes.BaseLibSVM is base.BaseLibSVM, type(base.__spec__.loader).__name__)  # run once, own spec
import altair as alt
print(alt.Chart(pd.DataFrame({{'x': [1]}})).mark_point().to_dict()['mark']['type'])
import jsonschema
print(jsonschema.Draft7Validator({{'type': 'integer'}}).is_valid(3))
"""


def test_a_tick_with_rows_to_check_and_match_runs_none_of_the_modules_it_never_uses(tmp_path):
    assert set(DEFERRED) == set(INSIDE), "each deferred module needs a module it imports when it runs"
    out = subprocess.run([sys.executable, "-c", TICK, str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "1 A1",  # one row failed the suite; the lead matched its account
        "none",  # none of the deferred modules has run
        "False",  # importing scipy.stats by name does not run it
        "0.5",
        "2",
        "LogisticRegression 1.0",
        "True SourceFileLoader",
        "point",
        "True",
    ]
