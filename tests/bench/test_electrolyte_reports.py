"""Headline figures of the electrolyte reports from hand-made records."""

import pytest

from nanomlip.bench import liquid_report, solid_report


def _solid(name, exp, student, teacher=None, ratios=None):
    def lattice(a):
        return None if a is None else {"a": a, "b": a, "c": a}

    return {
        "name": name,
        "lattice_exp": lattice(exp),
        "lattice_student": lattice(student),
        "lattice_teacher": lattice(teacher),
        "lattice_err_pct_student_vs_exp": None,
        "D_ratio_student_over_teacher": ratios or {},
    }


def test_solid_headline():
    records = [
        _solid("A", 10.0, 10.2, 10.1, {"800": 2.0, "1000": 0.5}),
        _solid("B", 5.0, 4.9),
    ]
    head = solid_report.headline(records)
    assert head["lattice_mae_pct_student_vs_exp"] == pytest.approx(2.0)
    assert head["lattice_mae_pct_teacher_vs_exp"] == pytest.approx(1.0)
    assert head["lattice_mae_pct_student_vs_teacher"] == pytest.approx(100 * 0.1 / 10.1)
    assert head["D_ratio_geometric_mean"] == pytest.approx(1.0)
    text = solid_report.markdown(records, "nanomlip bench solid-electrolytes", "PREVIEW")
    assert "PREVIEW" in text and "| A |" in text and "2.00 %" in text


def test_liquid_headline():
    records = [
        {
            "name": "X",
            "temperature_K": 298.15,
            "density_exp_g_cm3": 1.0,
            "density_g_cm3": 1.05,
            "density_err_g_cm3": 0.01,
            "density_no_d3_g_cm3": 0.9,
            "efs_energy_mae_meV_atom": 10.0,
        },
        {
            "name": "Y",
            "temperature_K": 298.15,
            "density_exp_g_cm3": 2.0,
            "density_g_cm3": 1.9,
            "density_no_d3_g_cm3": None,
            "efs_energy_mae_meV_atom": 20.0,
        },
    ]
    head = liquid_report.headline(records)
    assert head["density_mae_pct_student_d3"] == pytest.approx(5.0)
    assert head["density_mae_pct_student_no_d3"] == pytest.approx(10.0)
    assert head["density_mae_pct_teacher_d3"] is None
    assert head["energy_mae_meV_atom"] == pytest.approx(15.0)
    assert "| X | 298.15 | 1.000 |" in liquid_report.markdown(records, "cmd")
