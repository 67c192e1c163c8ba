"""New-layout adaptation: labelled province documents added to training fix the layout, old formats hold.

A smaller config than the shipped one keeps this fast; `python -m nianbao.training.adaptation` runs the
full curve (k = 0, 5, 10, 20) and logs it to MLflow.
"""

from __future__ import annotations

import pytest

from nianbao.evaluation.synth.corpus import load_labelled
from nianbao.training.adaptation import adaptation_curve
from nianbao.training.config import load_config
from nianbao.training.promote import EVALSET

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it


def test_labelled_documents_of_a_new_layout_teach_it_without_hurting_old_formats(tmp_path):
    config = load_config().replace("corpus", per_concept=20, none_per_wording=3, synthesized_reports=60)
    config = config.replace("adaptation", ks=[0, 5], test_documents=6)
    old = [x for x in load_labelled(EVALSET) if x[2]["synth"]["form"] in ("md", "html", "docx")][::3]
    before, after = adaptation_curve(config, tmp_path, old)
    assert before.k == 0 and after.k == 5 and after.examples > 20
    assert before.new_layout < 0.9  # the layout is really unseen
    assert after.new_layout > before.new_layout + 0.1
    assert after.new_layout > 0.97
    assert after.old_formats >= before.old_formats - 0.001  # at most 0.1 points lost on the old formats
