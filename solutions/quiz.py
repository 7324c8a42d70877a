"""Quiz: the calculus behind deep learning, answered by hand.

Reference answers and specs. Learners fill in ``exercises/quiz.toml``; no code
of theirs runs. Mistakes are typed the way learners type them.
"""

from sympy import Rational, cos, exp, log, tanh

from grader.known_functions import sigmoid as sig
from grader.spec import exercise, mistake, question

EXERCISE = exercise("Quiz: derivatives, gradients and gradient descent", order=5,
                    summary="Typed expressions, numbers and multiple choice, filled in by hand in quiz.toml.")


@question(points=1, text="d/dx e^(-x) = ?", mistakes=[
    mistake("e^(-x)", "the chain rule multiplies by the derivative of the exponent -x, which is -1",
            tag="sign_error"),
    mistake("-x*e^(-x-1)", "the power rule does not apply when the variable is in the exponent: "
            "d/dx e^u = e^u · u'", tag="power_rule_on_exp"),
])
def d_exp_neg(x):
    return -exp(-x)


@question(points=1, text="d/dx 2^x = ?", mistakes=[
    mistake("2^x", "2^x = e^(x ln 2), so its derivative carries the factor ln 2", tag="missing_log_factor"),
    mistake("x*2^(x-1)", "the power rule is for x^n with a fixed exponent; here the exponent is the variable",
            tag="power_rule_on_exp"),
])
def d_pow2(x):
    return 2**x * log(2)


@question(points=1, text="d/dx ln(3x) = ?  (x > 0)", variables={"x": "positive"}, mistakes=[
    mistake("1/(3x)", "the chain rule multiplies 1/(3x) by the inner derivative 3, which gives 1/x",
            tag="missing_chain_factor"),
    mistake("3/x", "d/dx ln(3x) = 3 · 1/(3x): the 3s cancel", tag="factor_not_cancelled"),
])
def d_log_3x(x):
    return 1 / x


@question(points=1, text="d/dx x^5 = ?", mistakes=[
    mistake("5x^6", "the power rule lowers the exponent by one: n x^(n-1)", tag="exponent_raised"),
    mistake("x^4", "you lowered the exponent but dropped the factor 5 in front", tag="missing_factor_n"),
])
def d_power(x):
    return 5 * x**4


@question(points=2, text="σ'(x) written with σ(x), where σ(x) = 1/(1 + e^(-x)):  σ'(x) = ?", mistakes=[
    mistake("σ(x)(1+σ(x))", "σ'(x) = σ(x)(1 - σ(x)), with a minus", tag="sigma_one_plus_sigma"),
    mistake("σ(x)^2", "σ(x)² is only part of it: σ'(x) = σ(x)(1 - σ(x))", tag="sigma_squared"),
])
def d_sigmoid(x):
    return sig(x) * (1 - sig(x))


@question(points=1, text="d/dx tanh(x) written with tanh(x) = ?", mistakes=[
    mistake("1+tanh(x)^2", "tanh' = 1 - tanh², with a minus (it is sech², at most 1)",
            tag="one_plus_tanh_squared"),
    mistake("1-tanh(x)", "square the tanh: tanh'(x) = 1 - tanh²(x)", tag="tanh_not_squared"),
])
def d_tanh(x):
    return 1 - tanh(x)**2


@question(points=1, text="tanh(x) written with the sigmoid σ:  tanh(x) = ?", must_not_use=("tanh",), mistakes=[
    mistake("2σ(x)-1", "2σ(x) - 1 is tanh(x/2): the sigmoid's argument must be 2x", tag="missing_factor_2x"),
    mistake("σ(2x)-1", "σ(2x) - 1 is missing the factor 2 in front", tag="missing_factor_2"),
])
def tanh_via_sigmoid(x):
    return 2 * sig(2 * x) - 1


@question(points=1, text="d/dx sin(x²) = ?", mistakes=[
    mistake("cos(x^2)", "the chain rule also multiplies by the derivative of the inner function x², "
            "which is 2x", tag="missing_chain_factor"),
    mistake("2x*cos(2x)", "cos keeps its argument x²: d/dx sin(x²) = cos(x²) · 2x", tag="inner_derivative_inside"),
])
def d_sin_x2(x):
    return 2 * x * cos(x**2)


@question(points=1, text="z = x² + 3xy + y².  ∂z/∂y = ?", mistakes=[
    mistake("2x+3y", "that is ∂z/∂x; for ∂z/∂y hold x constant", tag="wrong_variable"),
    mistake("3x", "y² depends on y: it contributes 2y", tag="square_term_dropped"),
])
def dz_dy(x, y):
    return 3 * x + 2 * y


@question(points=1, answer="number", text="σ'(0) = ?  (a number)", tolerance=1e-3, mistakes=[
    mistake("0.5", "0.5 is σ(0) itself; σ'(0) = σ(0)(1 - σ(0))", tag="function_not_derivative"),
    mistake("0.75", "σ'(0) = σ(0)(1 - σ(0)), with a minus", tag="sigma_one_plus_sigma"),
])
def sigma_prime_at_0():
    return Rational(1, 4)


@question(points=1, answer="number", text="z = x² + 3xy + y².  ∂z/∂y at (x, y) = (1, 2) = ?", tolerance=1e-6,
          mistakes=[
              mistake("8", "8 is ∂z/∂x = 2x + 3y at (1, 2); ∂z/∂y = 3x + 2y", tag="wrong_variable"),
              mistake("3", "∂z/∂y = 3x + 2y: the y² term contributes 2y = 4", tag="square_term_dropped"),
          ])
def dz_dy_at_1_2():
    return 7


@question(points=1, answer="number", tolerance=1e-6,
          text="J(θ) = (θ - 3)².  θ after one gradient-descent step from θ = 0 with learning rate η = 0.1?",
          mistakes=[
              mistake("-0.6", "gradient descent subtracts η·J'(θ); adding it climbs away from the minimum",
                      tag="ascent_instead_of_descent"),
              mistake("0.3", "J'(θ) = 2(θ - 3): the factor 2 from the power rule is missing",
                      tag="missing_factor_2"),
          ])
def gd_one_step():
    return Rational(3, 5)


@question(points=1, answer="choice", text="The gradient ∇J(θ) points in the direction in which J ...",
          choices={"a": "increases fastest", "b": "decreases fastest", "c": "does not change",
                   "d": "is smallest"},
          mistakes=[
              mistake("b", "the gradient points uphill, where J increases fastest; gradient descent "
                      "steps against it: θ ← θ - η∇J(θ)", tag="gradient_points_downhill"),
              mistake("d", "the gradient does not aim at the minimum: it points where J grows fastest, and "
                      "descent follows -∇J(θ) towards smaller J", tag="gradient_points_to_minimum"),
          ])
def gradient_direction():
    return "a"


@question(points=1, answer="choice", text="Why is σ'(z) cheap to compute during backpropagation?",
          choices={"a": "σ'(z) = σ(z)(1 - σ(z)) reuses σ(z), already computed in the forward pass",
                   "b": "σ' is a constant", "c": "NumPy differentiates σ automatically",
                   "d": "σ'(z) = σ(z)"},
          mistakes=[
              mistake("c", "NumPy only evaluates; nothing differentiates for you. The saving is that "
                      "σ'(z) = σ(z)(1 - σ(z)) reuses the activation from the forward pass",
                      tag="numpy_autodiff"),
              mistake("b", "σ' depends on z (it is largest, 1/4, at z = 0); what makes it cheap is that "
                      "it reuses σ(z) from the forward pass", tag="constant_derivative"),
          ])
def cheap_sigmoid_grad():
    return "a"


@question(points=2, answer="choice",
          text="Gradient descent on J(θ) = (θ - 3)² with learning rate η = 0.1: which are true? "
               "(pick every true one)",
          choices={"a": "each step moves θ closer to 3",
                   "b": "the steps get shorter as θ approaches 3",
                   "c": "θ overshoots 3 on every step",
                   "d": "with η = 1.5 instead, θ would move away from 3"},
          mistakes=[
              mistake("a, b", "d is true too: each step multiplies θ - 3 by 1 - 2η, which is -2 for "
                      "η = 1.5, so θ runs away from 3", tag="divergence_missed"),
              mistake("a, b, c, d", "with η = 0.1 each step multiplies θ - 3 by 1 - 2η = 0.8: θ approaches "
                      "3 from one side, no overshoot", tag="overshoot_claimed"),
          ])
def descent_behaviour():
    return ["a", "b", "d"]
