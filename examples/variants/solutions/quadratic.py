"""Partial derivatives of a quadratic whose coefficients differ from learner to learner.

A per-learner variant: ``variants=`` declares the parameters and their ranges,
``grader_items(a, b, c)`` builds the items of one learner's instance. The
template states each learner's numbers through its ``{{ a }}`` placeholders
(see README, "Learner kit", per-learner variants).
"""

from grader.spec import exercise, mistake, symbolic

EXERCISE = exercise("Partial derivatives of your own quadratic", order=50,
                    summary="∂z/∂x and ∂z/∂y of z = a·x² + b·xy + c·y², with a, b, c your own.",
                    variants={"a": (2, 9), "b": (2, 9), "c": (2, 9)})


def grader_items(a, b, c):
    """The items of the instance (a, b, c)."""

    def z(x, y):
        return a * x**2 + b * x * y + c * y**2

    @symbolic(points=1, antiderivative=z, mistakes=[
        mistake(lambda x, y: 2 * a * x + b * x * y, "the term B·xy differentiates to B·y when y is held "
                "constant", tag="cross_term_kept"),
        mistake(lambda x, y: 2 * a * x, "B·xy depends on x too: holding y constant it contributes B·y",
                tag="cross_term_dropped"),
    ])
    def dz_dx(x, y):
        """∂z/∂x"""
        return 2 * a * x + b * y

    @symbolic(points=1, antiderivative=z, mistakes=[
        mistake(lambda x, y: 2 * a * x + b * y, "that is ∂z/∂x; for ∂z/∂y hold x constant",
                tag="wrong_variable"),
        mistake(lambda x, y: 2 * c * y, "B·xy depends on y too: holding x constant it contributes B·x",
                tag="cross_term_dropped"),
    ])
    def dz_dy(x, y):
        """∂z/∂y"""
        return b * x + 2 * c * y

    return [dz_dx.__grader_item__, dz_dy.__grader_item__]
