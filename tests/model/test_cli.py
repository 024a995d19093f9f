"""``comix model info`` through typer's CliRunner."""

from typer.testing import CliRunner

from comix.cli.model_cmd import app


def test_info_prints_parameters_macs_and_stage_shapes():
    result = CliRunner().invoke(
        app,
        [
            "info",
            "comix_t",
            "--bands",
            "63",
            "--x-channels",
            "2",
            "--size",
            "70",
            "44",
            "--classes",
            "6",
        ],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    for text in (
        "comix_t: hsi 1x63x70x44, x 1x2x70x44",
        "parameters",
        "MACs per tile",
        "DCN sampling",
        "HSI branch",
        "1x6x70x44",
        "1x8x8x24x16",
        "1x32x24x16",
        "1x256x3x2",
    ):
        assert text in result.output, text


def test_info_unknown_variant_suggests_closest():
    result = CliRunner().invoke(app, ["info", "comix_x"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "unknown model variant 'comix_x'. Did you mean 'comix_t'?" in result.output


def test_list_prints_variants():
    result = CliRunner().invoke(app, ["list"])
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert result.exit_code == 0 and [name for name, _ in rows if name.startswith("comix")] == [
        "comix_b",
        "comix_s",
        "comix_t",
    ]
    tasks = dict(rows)
    assert tasks["comix_t"] == "segmentation" and tasks["ship_irvis"] == "fusion-irvis"
    assert tasks["ship_pp_pansharpen"] == "fusion-pansharpen"
