from nanomlip.bench.speed import run_speed_benchmark, speed_table, student_factory


def test_speed_harness_measures_and_tabulates():
    results = run_speed_benchmark(
        {"a": student_factory("nano-xs"), "b": student_factory("nano-5.0")},
        repeats=(1,),
        steps=1,
        log=lambda line: None,
    )
    assert [r.num_atoms for r in results] == [8, 8]
    assert all(r.seconds_per_step > 0 for r in results)
    table = speed_table(results, reference="b")
    assert "| a |" in table and "x)" in table
