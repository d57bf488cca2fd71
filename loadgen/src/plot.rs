//! SVG plot: latency percentile distribution (left) and throughput per
//! interval (right), one line per command.

use crate::stats::Recorder;
use plotters::prelude::*;

const NINES: &[f64] = &[
    0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999,
];

pub fn write_svg(rec: &Recorder, path: &std::path::Path, title: &str) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::new(path, (1100, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(|x| e(&x))?;
    let (left, right) = root.split_horizontally(550);

    let mut ymax = 1.0f64;
    for s in rec.commands.values() {
        if !s.total.is_empty() {
            ymax = ymax.max(s.total.value_at_quantile(0.9999) as f64 / 1000.0);
        }
    }
    let mut lat = ChartBuilder::on(&left)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..4f64, 0f64..ymax * 1.05)
        .map_err(|x| e(&x))?;
    lat.configure_mesh()
        .x_desc("percentile (0=p0, 1=p90, 2=p99, 3=p99.9, 4=p99.99)")
        .y_desc("latency ms")
        .draw()
        .map_err(|x| e(&x))?;
    for (i, (name, s)) in rec.commands.iter().enumerate() {
        if s.total.is_empty() {
            continue;
        }
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = NINES
            .iter()
            .map(|q| {
                (
                    -(1.0 - q).log10(),
                    s.total.value_at_quantile(*q) as f64 / 1000.0,
                )
            })
            .collect();
        lat.draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    lat.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|x| e(&x))?;

    let iv = rec.interval.as_secs_f64();
    let n = rec
        .commands
        .values()
        .map(|s| s.intervals.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut tmax = 1.0f64;
    for s in rec.commands.values() {
        for h in &s.intervals {
            tmax = tmax.max(h.len() as f64 / iv);
        }
    }
    let mut thr = ChartBuilder::on(&right)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(65)
        .build_cartesian_2d(0f64..(n as f64 * iv), 0f64..tmax * 1.1)
        .map_err(|x| e(&x))?;
    thr.configure_mesh()
        .x_desc("seconds after warm-up")
        .y_desc("commands/s")
        .draw()
        .map_err(|x| e(&x))?;
    for (i, (name, s)) in rec.commands.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = s
            .intervals
            .iter()
            .enumerate()
            .map(|(k, h)| (k as f64 * iv, h.len() as f64 / iv))
            .collect();
        thr.draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
