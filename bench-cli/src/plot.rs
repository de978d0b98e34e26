//! `--plot FILE.svg`: the heap over time, one chart per scenario, a line per runtime.
//!
//! Each chart plots a scenario's samples (`sampling.rs`): time since the run's start on the x
//! axis, heap bytes above the run's start on the y axis, one line per runtime, and the moments
//! marked on each line (cancel returned, body returned, next tick, shutdown). The units are on
//! the axes: milliseconds (seconds for runs longer than 10 s) and B, KiB or MiB, whichever
//! keeps the numbers short. When the runtimes' runs differ in length more than twentyfold
//! (asyncio under tracemalloc beside the Rust runtimes), the time axis is logarithmic, and says
//! so, so that the short runs are not squeezed against zero. The charts are drawn by `plotters` into an SVG string; its SVG
//! backend writes text as SVG `<text>`, so it needs no font files and no system library.
//!
//! With `--repeat K` the chart shows each runtime's first run, the one the report's accounting
//! comes from.

use plotters::prelude::*;

use crate::format;
use crate::sampling::Sample;

/// One runtime's line in a chart.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// The runtime's name (the legend).
    pub runtime: &'static str,
    /// Its samples, in time order.
    pub samples: &'a [Sample],
}

/// One scenario's chart.
#[derive(Clone, Debug)]
pub struct Chart<'a> {
    /// The scenario's name (the chart's caption).
    pub scenario: &'static str,
    /// N, for the caption.
    pub tasks: u64,
    /// A line per runtime.
    pub lines: Vec<Line<'a>>,
}

/// Width and height of one chart, in SVG pixels.
const CHART: (u32, u32) = (640, 400);

/// The short label a moment gets on the chart.
pub fn moment_label(moment: &str) -> &str {
    match moment {
        "after_cancel" => "cancel returned",
        "at_end" => "body returned",
        "after_tick" => "next tick",
        "after_release" => "registry released",
        "after_shutdown" => "shutdown",
        other => other,
    }
}

/// `100000` as `100 000`.
fn grouped(value: u64) -> String {
    format::grouped(value, ' ')
}

/// The runtime's line colour as SVG writes it (`#1F77B4`): how a test finds a runtime's line.
pub fn colour_hex(runtime: &str) -> String {
    let RGBColor(r, g, b) = colour(runtime);
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// How many lines of `runtime`'s colour an SVG from [`svg`] draws: its data lines, one per
/// chart it is in (the legend's key and the moment markers are not lines of points).
pub fn lines_of(svg: &str, runtime: &str) -> usize {
    let stroke = format!(
        "stroke=\"{}\" stroke-width=\"2\" points=\"",
        colour_hex(runtime)
    );
    svg.split("<polyline")
        .filter_map(|element| element.split_once(&stroke))
        .filter(|(_, points)| {
            points
                .split('"')
                .next()
                .unwrap_or("")
                .split(' ')
                .filter(|p| !p.is_empty())
                .count()
                > 2
        })
        .count()
}

/// The runtime's colour: the same in every chart.
fn colour(runtime: &str) -> RGBColor {
    match runtime {
        "ours" => RGBColor(31, 119, 180),
        "tokio" => RGBColor(255, 127, 14),
        "smol" => RGBColor(44, 160, 44),
        "asyncio" => RGBColor(148, 103, 189),
        _ => RGBColor(90, 90, 90),
    }
}

/// A unit for an axis: its name and how many of the base unit it is.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Unit {
    name: &'static str,
    scale: f64,
}

/// B, KiB or MiB, so that `largest` reads as a short number.
fn byte_unit(largest: f64) -> Unit {
    if largest >= 4.0 * 1024.0 * 1024.0 {
        Unit {
            name: "MiB",
            scale: 1024.0 * 1024.0,
        }
    } else if largest >= 4.0 * 1024.0 {
        Unit {
            name: "KiB",
            scale: 1024.0,
        }
    } else {
        Unit {
            name: "B",
            scale: 1.0,
        }
    }
}

/// Milliseconds, or seconds past 10 s.
fn time_unit(longest_s: f64) -> Unit {
    if longest_s > 10.0 {
        Unit {
            name: "s",
            scale: 1.0,
        }
    } else {
        Unit {
            name: "ms",
            scale: 1e-3,
        }
    }
}

/// The charts as one SVG document, two charts a row.
pub fn svg(charts: &[Chart<'_>], title: &str) -> Result<String, String> {
    let columns = charts.len().clamp(1, 2) as u32;
    let rows = charts.len().div_ceil(2).max(1) as u32;
    let size = (CHART.0 * columns, CHART.1 * rows + 40);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(|e| e.to_string())?;
        let areas = root.split_evenly((rows as usize, columns as usize));
        for (chart, area) in charts.iter().zip(areas.iter()) {
            draw(chart, area)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// Whether a chart's time axis is logarithmic: when its runtimes' runs differ in length by
/// more than this factor (asyncio under tracemalloc beside the Rust runtimes, say), a linear
/// axis would squeeze the short ones against zero.
const LOG_TIME_ABOVE: f64 = 20.0;

/// The axes of one chart: units and ranges, in the units shown.
struct Frame {
    time: Unit,
    bytes: Unit,
    log_time: bool,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn of(chart: &Chart<'_>) -> Frame {
        let samples = || chart.lines.iter().flat_map(|line| line.samples.iter());
        let longest_s = samples().map(|s| s.t_s).fold(0.0, f64::max);
        let highest = samples().map(|s| s.heap_bytes as f64).fold(0.0, f64::max);
        let lowest = samples().map(|s| s.heap_bytes as f64).fold(0.0, f64::min);
        let ends: Vec<f64> = chart
            .lines
            .iter()
            .filter_map(|line| line.samples.last().map(|s| s.t_s))
            .filter(|&end| end > 0.0)
            .collect();
        let shortest_end = ends.iter().copied().fold(f64::INFINITY, f64::min);
        let log_time = ends.len() > 1 && longest_s / shortest_end > LOG_TIME_ABOVE;
        let time = time_unit(longest_s);
        let bytes = byte_unit(highest.max(-lowest));
        // Room on the right and at the top for the moments' labels.
        let x_max = (longest_s / time.scale).max(1e-3);
        let x = if log_time {
            // Two decades before the shortest run's end: what came earlier sits on the axis.
            let earliest = samples()
                .map(|s| s.t_s)
                .filter(|&t| t > 0.0)
                .fold(f64::INFINITY, f64::min)
                .max(shortest_end / 100.0);
            (earliest / time.scale * 0.8, x_max * 4.0)
        } else {
            (0.0, x_max * 1.15)
        };
        let y = (
            lowest / bytes.scale * 1.1,
            (highest / bytes.scale * 1.2).max(1.0),
        );
        Frame {
            time,
            bytes,
            log_time,
            x,
            y,
        }
    }

    /// A sample's place on the chart (a time at or before the axis's start is put on it).
    fn point(&self, sample: &Sample) -> (f64, f64) {
        (
            (sample.t_s / self.time.scale).max(self.x.0),
            sample.heap_bytes as f64 / self.bytes.scale,
        )
    }
}

fn draw<DB: DrawingBackend>(
    chart: &Chart<'_>,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let frame = Frame::of(chart);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(
            format!("{} (N = {})", chart.scenario, grouped(chart.tasks)),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64);
    let time_desc = format!(
        "time since the scenario's start ({}{})",
        frame.time.name,
        if frame.log_time { ", log scale" } else { "" }
    );
    if frame.log_time {
        let plot = builder
            .build_cartesian_2d((frame.x.0..frame.x.1).log_scale(), frame.y.0..frame.y.1)
            .map_err(|e| e.to_string())?;
        lines(plot, chart, &frame, &time_desc)
    } else {
        let plot = builder
            .build_cartesian_2d(frame.x.0..frame.x.1, frame.y.0..frame.y.1)
            .map_err(|e| e.to_string())?;
        lines(plot, chart, &frame, &time_desc)
    }
}

/// A moment's marker: its place on the chart, its pixel, its label.
type Mark = ((f64, f64), (i32, i32), String);

/// The mesh, a line per runtime with its moments, and the legend, on either kind of time axis.
fn lines<'a, DB, X>(
    mut plot: ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    chart: &Chart<'_>,
    frame: &Frame,
    time_desc: &str,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    plot.configure_mesh()
        .x_desc(time_desc)
        .y_desc(format!("heap above the start ({})", frame.bytes.name))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;

    for (index, line) in chart.lines.iter().enumerate() {
        let colour = colour(line.runtime);
        let points = line.samples.iter().map(|s| frame.point(s));
        plot.draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(line.runtime)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
        // Moments that land on the same spot (a body that returns right after its last
        // cancel, say) share one marker and one label; each runtime's labels sit at their own
        // height so that two lines' labels do not overprint.
        let mut marks: Vec<Mark> = Vec::new();
        for sample in line.samples {
            let Some(moment) = sample.moment else {
                continue;
            };
            let at = frame.point(sample);
            let pixel = plot.backend_coord(&at);
            match marks.last_mut() {
                Some((_, last, label))
                    if (pixel.0 - last.0).abs() <= 24 && (pixel.1 - last.1).abs() <= 6 =>
                {
                    label.push_str(" · ");
                    label.push_str(moment_label(moment));
                }
                _ => marks.push((at, pixel, moment_label(moment).to_string())),
            }
        }
        let lift = -14 - 12 * index as i32;
        plot.draw_series(marks.into_iter().map(|(at, _, label)| {
            EmptyElement::at(at)
                + Circle::new((0, 0), 4, colour.filled())
                + Text::new(
                    label,
                    (6, lift),
                    ("sans-serif", 11).into_font().color(&colour),
                )
        }))
        .map_err(|e| e.to_string())?;
    }
    // A log time axis leaves its upper left empty; a linear one its upper right.
    let corner = if frame.log_time {
        SeriesLabelPosition::UpperLeft
    } else {
        SeriesLabelPosition::UpperRight
    };
    plot.configure_series_labels()
        .position(corner)
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(scale: i64) -> Vec<Sample> {
        (0..20)
            .map(|i| Sample {
                t_s: i as f64 * 0.001,
                heap_bytes: scale * (i % 7),
                moment: match i {
                    10 => Some("after_cancel"),
                    15 => Some("after_tick"),
                    19 => Some("after_shutdown"),
                    _ => None,
                },
                ..Sample::default()
            })
            .collect()
    }

    #[test]
    fn one_chart_per_scenario_and_a_line_per_runtime() {
        let ours = samples(1000);
        let tokio = samples(3000);
        let charts: Vec<Chart> = ["cancel-each", "no-cancel"]
            .into_iter()
            .map(|scenario| Chart {
                scenario,
                tasks: 20,
                lines: vec![
                    Line {
                        runtime: "ours",
                        samples: &ours,
                    },
                    Line {
                        runtime: "tokio",
                        samples: &tokio,
                    },
                ],
            })
            .collect();
        let svg = svg(&charts, "heap over time").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!((lines_of(&svg, "ours"), lines_of(&svg, "tokio")), (2, 2));
        assert_eq!(lines_of(&svg, "smol"), 0);
        for text in [
            "cancel-each (N = 20)",
            "no-cancel (N = 20)",
            "ours",
            "tokio",
            "next tick",
            "(ms)",
            "(KiB)",
        ] {
            assert!(svg.contains(text), "no {text:?} in the SVG");
        }
    }

    #[test]
    fn units_keep_numbers_short() {
        assert_eq!(byte_unit(100.0).name, "B");
        assert_eq!(byte_unit(100_000.0).name, "KiB");
        assert_eq!(byte_unit(50e6).name, "MiB");
        assert_eq!(time_unit(0.5).name, "ms");
        assert_eq!(time_unit(20.0).name, "s");
        assert_eq!(
            (grouped(20), grouped(100_000)),
            ("20".to_string(), "100 000".to_string())
        );
    }
}
