"""Fit and predict with pyBKT inside its own virtualenv; called by bench/bkt_vs_pybkt.py.

usage: run_pybkt.py TRAIN_CSV TEST_CSV OUT_CSV NUM_FITS SEED [forgets|plain]
Prints fit wall and CPU seconds as JSON on its last line.
"""

import json
import resource
import sys
import time

import pandas as pd
from pyBKT.models import Model

train_csv, test_csv, out_csv, num_fits, seed = sys.argv[1:6]
forgets = len(sys.argv) > 6 and sys.argv[6] == "forgets"
train = pd.read_csv(train_csv)
test = pd.read_csv(test_csv)
model = Model(seed=int(seed), num_fits=int(num_fits))


def cpu_seconds() -> float:
    """This process's CPU time plus its finished children's: pyBKT fits in a process pool."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


started, cpu_started = time.perf_counter(), cpu_seconds()
model.fit(data=train, forgets=forgets)
fit_seconds, fit_cpu_seconds = time.perf_counter() - started, cpu_seconds() - cpu_started
started = time.perf_counter()
predicted = model.predict(data=test)
predict_seconds = time.perf_counter() - started
predicted[["order_id", "correct_predictions"]].to_csv(out_csv, index=False)
print(json.dumps({"fit_seconds": fit_seconds, "fit_cpu_seconds": fit_cpu_seconds, "predict_seconds": predict_seconds}))
