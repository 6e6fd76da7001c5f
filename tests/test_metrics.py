"""UAR/WAR against hand-computed cases."""

import numpy as np

from trnet.scoring.metrics import confusion_matrix, uar, war


def test_known_confusion_uar_and_war_by_hand():
    # ang: 3/4 right, hap: 1/2, neu: 2/2, sad: 0/2  -> UAR = (0.75+0.5+1+0)/4, WAR = 6/10
    ref = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3]
    hyp = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
    assert confusion_matrix(ref, hyp, 4).tolist() == [
        [3, 1, 0, 0],
        [0, 1, 1, 0],
        [0, 0, 2, 0],
        [0, 0, 2, 0],
    ]
    assert np.isclose(uar(ref, hyp, 4), 0.5625)
    assert np.isclose(war(ref, hyp), 0.6)


def test_all_one_class_prediction_gives_chance_uar():
    ref = [0, 1, 2, 3, 3, 3]
    assert np.isclose(uar(ref, [3] * 6, 4), 0.25)
    assert np.isclose(war(ref, [3] * 6), 0.5)
