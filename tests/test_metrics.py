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


def test_precision_recall_f1_and_macro_f1_by_hand():
    # the matrix above: predicted counts ang 3, hap 2, neu 5, sad 0
    from trnet.scoring.metrics import macro_f1, precision_recall_f1, row_normalise, score_cm

    cm = confusion_matrix([0, 0, 0, 0, 1, 1, 2, 2, 3, 3], [0, 0, 0, 1, 1, 2, 2, 2, 2, 2], 4)
    precision, recall, f1 = precision_recall_f1(cm)
    assert np.allclose(precision, [1.0, 0.5, 0.4, 0.0])
    assert np.allclose(recall, [0.75, 0.5, 1.0, 0.0])
    assert np.allclose(f1, [6 / 7, 0.5, 4 / 7, 0.0])
    assert np.isclose(macro_f1(cm), (6 / 7 + 0.5 + 4 / 7) / 4)
    assert np.allclose(row_normalise(cm)[0], [0.75, 0.25, 0, 0])
    scores = score_cm(cm, ("ang", "hap", "neu", "sad"))
    assert scores["n"] == 10 and np.isclose(scores["uar"], 0.5625) and scores["war"] == 0.6


def test_absent_class_is_left_out_of_macro_scores():
    # no sad in ref: sad's F1 is NaN and not averaged; a never-predicted class has precision 0
    from trnet.scoring.metrics import macro_f1, precision_recall_f1

    cm = confusion_matrix([0, 1, 2], [0, 0, 2], 4)
    precision, _, f1 = precision_recall_f1(cm)
    assert precision[1] == 0.0 and np.isnan(f1[3])
    assert np.isclose(macro_f1(cm), (2 / 3 + 0 + 1) / 3)
