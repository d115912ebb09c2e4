"""Validity (a): the mediator's proposal is the Nash bargaining solution (Nash 1950; Kalai 1977 asymmetric).

Over a small discrete package space the Nash solution is computed by hand
below and must equal rules.mediator_proposal with equal weights and no
ratification; asymmetric weights (a biased mediator, rules.nash_weights) move
it toward the favoured side, a higher disagreement value moves it toward that
side, and a public that will not ratify the Nash package moves the mediator
off it (Putnam 1988).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine import rules

# Two issues, three options each (0, 0.5, 1); packages in row-major order:
#   index: 0      1       2      3       4        5       6      7       8
#   x:   (0,0) (0,.5)  (0,1)  (.5,0) (.5,.5)  (.5,1)  (1,0)  (1,.5)  (1,1)
GRID = np.array([0.0, 0.5, 1.0])
PACKAGES = np.array([[a, b] for a in GRID for b in GRID])
# Side A wants both issues at 1 and cares more about issue 1: U_A = 0.7 x1 + 0.3 x2.
# Side B wants both at 0 and cares more about issue 2:     U_B = 0.4 (1 - x1) + 0.6 (1 - x2).
U_A = rules.package_utilities(PACKAGES, np.array([1.0, 1.0]), np.array([0.7, 0.3]))
U_B = rules.package_utilities(PACKAGES, np.array([0.0, 0.0]), np.array([0.4, 0.6]))
ALL = np.ones(9, bool)
NO_RATIFICATION = np.zeros(9)
TEMPERATURE = 0.05


def propose(need_a=0.0, need_b=0.0, bias=0.5, log_ratify=NO_RATIFICATION):
    w_a, w_b = rules.nash_weights(bias)
    x, zone = rules.mediator_proposal(U_A, U_B, need_a, need_b, w_a, w_b, log_ratify, ALL)
    assert zone
    return int(x)


def test_hand_computed_utilities():
    np.testing.assert_allclose(U_A, [0.0, 0.15, 0.3, 0.35, 0.5, 0.65, 0.7, 0.85, 1.0], atol=1e-12)
    np.testing.assert_allclose(U_B, [1.0, 0.7, 0.4, 0.8, 0.5, 0.2, 0.6, 0.3, 0.0], atol=1e-12)


def test_equal_weights_give_the_hand_computed_nash_solution():
    # Disagreement point (0, 0). Nash products U_A * U_B:
    #   (0,0) 0*1 = 0      (0,.5) .15*.7 = .105   (0,1) .3*.4 = .12
    #   (.5,0) .35*.8 = .28 (.5,.5) .5*.5 = .25    (.5,1) .65*.2 = .13
    #   (1,0) .7*.6 = .42   (1,.5) .85*.3 = .255   (1,1) 1*0 = 0
    # Maximum .42 at (1, 0), index 6: each side wins the issue it cares about more (a logroll).
    assert propose() == 6
    # Disagreement point (0.1, 0.5): only packages with U_A >= .1 and U_B >= .5 count:
    #   (0,.5) .05*.2 = .01   (.5,0) .25*.3 = .075   (.5,.5) .4*0 = 0   (1,0) .6*.1 = .06
    # Maximum .075 at (.5, 0), index 3: B's better outside option moves the solution its way.
    assert propose(need_a=0.1, need_b=0.5) == 3


def test_asymmetric_weights_move_the_solution_toward_the_favoured_side():
    # Bias 0.2 favours A: weights (0.8, 0.2); maximise U_A^.8 U_B^.2:
    #   (1,.5) exp(.8 ln .85 + .2 ln .3) = exp(-.1300 - .2408) = .690
    #   (1,0)  exp(.8 ln .7  + .2 ln .6) = exp(-.2853 - .1022) = .679
    #   (.5,1) exp(.8 ln .65 + .2 ln .2) = .514; (.5,.5) .5; (.5,0) .413; (0,1) .318; the rest lower.
    # Maximum at (1, .5), index 7.
    favour_a = propose(bias=0.2)
    assert favour_a == 7
    # Bias 0.8 favours B: weights (0.2, 0.8); maximise U_A^.2 U_B^.8:
    #   (.5,0) exp(.2 ln .35 + .8 ln .8) = exp(-.2100 - .1785) = .678
    #   (1,0)  exp(.2 ln .7  + .8 ln .6) = exp(-.0713 - .4087) = .619
    #   (0,.5) .514; (.5,.5) .5; (0,1) .378; (1,.5) .370; (.5,1) .253; (0,0) and (1,1) 0.
    # Maximum at (.5, 0), index 3.
    favour_b = propose(bias=0.8)
    assert favour_b == 3
    equal = propose()
    assert U_A[favour_a] > U_A[equal] > U_A[favour_b]
    assert U_B[favour_a] < U_B[equal] < U_B[favour_b]
    print(f"\n[nash] equal weights: package {PACKAGES[equal]} (U_A {U_A[equal]:.2f}, U_B {U_B[equal]:.2f}); "
          f"bias .2: {PACKAGES[favour_a]} (U_A {U_A[favour_a]:.2f}); bias .8: {PACKAGES[favour_b]} "
          f"(U_B {U_B[favour_b]:.2f})")


@pytest.mark.parametrize("bias", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_the_proposal_maximises_the_weighted_nash_product_by_enumeration(bias):
    w_a, w_b = rules.nash_weights(bias)
    with np.errstate(divide="ignore"):
        product = U_A**w_a * U_B**w_b
    assert propose(bias=bias) == int(np.argmax(product))


def test_a_public_that_rejects_the_nash_package_moves_the_mediator_off_it():
    # Putnam's level II: the Nash package (1,0) has a 1% chance of ratification, every other 100%.
    # Scores .5 ln U_A + .5 ln U_B + ln P(ratify):
    #   (1,0) .5 ln .42 + ln .01 = -.434 - 4.605 = -5.04
    #   (.5,0) .5 ln .28 = -.636; (1,.5) .5 ln .255 = -.683; (.5,.5) .5 ln .25 = -.693
    # so the mediator proposes (.5, 0), index 3.
    log_ratify = np.zeros(9)
    log_ratify[6] = np.log(0.01)
    assert propose(log_ratify=log_ratify) == 3
