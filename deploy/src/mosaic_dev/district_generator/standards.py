"""The content of the generated framework: grade 6 mathematics and three dispositions, in plain words.

Each standard is (code, cluster code, statement); clusters and domains name the tree above it.
Learning targets are "I can" statements under the standards that have them.
"""

from __future__ import annotations

MATH_DOMAINS: tuple[tuple[str, str], ...] = (
    ("6.RP", "Ratios and Proportional Relationships"),
    ("6.NS", "The Number System"),
    ("6.EE", "Expressions and Equations"),
    ("6.G", "Geometry"),
    ("6.SP", "Statistics and Probability"),
)

MATH_CLUSTERS: tuple[tuple[str, str], ...] = (
    ("6.RP.A", "Understand ratio concepts and use ratio reasoning to solve problems."),
    ("6.NS.A", "Divide fractions by fractions, building on what multiplication and division mean."),
    ("6.NS.B", "Compute fluently with multi-digit numbers and find common factors and multiples."),
    ("6.NS.C", "Extend the number line to negative numbers and rational numbers."),
    ("6.EE.A", "Write, read and work with expressions that use letters for numbers."),
    ("6.EE.B", "Reason about and solve one-variable equations and inequalities."),
    ("6.EE.C", "Describe how one quantity changes when another one does."),
    ("6.G.A", "Solve real-world problems about area, surface area and volume."),
    ("6.SP.A", "Understand that data vary, and describe how."),
    ("6.SP.B", "Summarize and describe sets of data."),
)

MATH_STANDARDS: tuple[tuple[str, str], ...] = (
    ("6.RP.A.1", "Use ratio language to describe how two quantities are related."),
    ("6.RP.A.2", "Understand a unit rate as 'how much for one' and use rate language."),
    (
        "6.RP.A.3",
        "Solve real-world ratio and rate problems with tables, tape diagrams, double number lines or equations.",
    ),
    ("6.NS.A.1", "Divide fractions by fractions and explain what the answer means in a story."),
    ("6.NS.B.2", "Divide multi-digit numbers fluently with the standard method."),
    ("6.NS.B.3", "Add, subtract, multiply and divide decimals fluently."),
    ("6.NS.B.4", "Find greatest common factors and least common multiples."),
    ("6.NS.C.5", "Use positive and negative numbers for quantities such as temperatures above and below zero."),
    ("6.NS.C.6", "Place positive and negative numbers on a number line and points on a coordinate grid."),
    ("6.NS.C.7", "Order rational numbers and understand absolute value as distance from zero."),
    ("6.NS.C.8", "Solve problems by graphing points in all four quadrants of the coordinate plane."),
    ("6.EE.A.1", "Write and evaluate expressions with whole-number exponents."),
    ("6.EE.A.2", "Write, read and evaluate expressions in which letters stand for numbers."),
    ("6.EE.A.3", "Use properties of operations to write equivalent expressions."),
    ("6.EE.A.4", "Recognize when two expressions are equivalent."),
    ("6.EE.B.5", "Understand solving an equation as finding the values that make it true."),
    ("6.EE.B.6", "Use a letter for an unknown number when solving a real-world problem."),
    ("6.EE.B.7", "Solve equations like x + p = q and px = q."),
    ("6.EE.B.8", "Write inequalities like x > c and show their solutions on a number line."),
    ("6.EE.C.9", "Use variables to show how two quantities change together, with tables and graphs."),
    ("6.G.A.1", "Find the area of triangles, special quadrilaterals and polygons."),
    ("6.G.A.2", "Find the volume of a box with fractional side lengths."),
    ("6.G.A.3", "Draw polygons on the coordinate plane and find the lengths of their sides."),
    ("6.G.A.4", "Use nets made of rectangles and triangles to find surface area."),
    ("6.SP.A.1", "Recognize a statistical question: one whose answers vary."),
    ("6.SP.A.2", "Describe a set of data by its center, spread and overall shape."),
    ("6.SP.A.3", "Tell a measure of center from a measure of variation."),
    ("6.SP.B.4", "Show numerical data in dot plots, histograms and box plots."),
    ("6.SP.B.5", "Summarize a data set in context: how many, what was measured, center and spread."),
)

LEARNING_TARGETS: dict[str, tuple[str, ...]] = {
    "6.RP.A.1": (
        "I can write a ratio three ways: a to b, a:b and a/b.",
        "I can explain what a ratio means in a real situation.",
    ),
    "6.RP.A.2": ("I can find a unit rate from a ratio.",),
    "6.RP.A.3": (
        "I can use a double number line to solve a ratio problem.",
        "I can find a percent of a quantity as a rate per 100.",
    ),
    "6.EE.B.7": ("I can solve a one-step equation and check my answer.",),
    "6.G.A.1": ("I can find the area of a triangle by relating it to a rectangle.",),
    "6.SP.B.5": ("I can describe a data set using its median and interquartile range.",),
}

# Prerequisites that cross clusters: (origin is a prerequisite of destination).
PREREQUISITES: tuple[tuple[str, str], ...] = (
    ("6.RP.A.1", "6.RP.A.3"),
    ("6.NS.B.4", "6.EE.A.3"),
    ("6.NS.C.5", "6.NS.C.7"),
    ("6.NS.C.6", "6.G.A.3"),
    ("6.NS.B.3", "6.G.A.2"),
    ("6.EE.A.2", "6.EE.B.7"),
    ("6.SP.A.2", "6.SP.B.5"),
)

DISPOSITIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "HS.COL",
        "Collaboration: works with others to learn and get things done.",
        (
            ("HS.COL.1", "Listens to others and builds on their ideas."),
            ("HS.COL.2", "Shares the work fairly and follows through on what they promised the group."),
            ("HS.COL.3", "Disagrees respectfully and helps the group reach a decision."),
        ),
    ),
    (
        "HS.SD",
        "Self-direction: takes charge of their own learning.",
        (
            ("HS.SD.1", "Sets learning goals and checks progress toward them."),
            ("HS.SD.2", "Starts work without reminders and manages their time."),
            ("HS.SD.3", "Asks for help or looks for resources when stuck."),
        ),
    ),
    (
        "HS.SEL",
        "Social-emotional skills: understands and manages feelings and relationships.",
        (
            ("HS.SEL.1", "Names their feelings and handles frustration calmly."),
            ("HS.SEL.2", "Shows empathy and respects other people's points of view."),
            ("HS.SEL.3", "Makes responsible choices and reflects on them."),
        ),
    ),
)
