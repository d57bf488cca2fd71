//! A scrape: sum every shard's metrics and write them in the Prometheus
//! text format (version 0.0.4) through prometheus-client's encoder, which
//! owns the escaping, the `_total`/`_bucket` suffixes and the layout.

use super::histogram::Totals;
use super::tables::{Mech, Proto, TLS_MODES, commands};
use super::{LoginProto, Metrics, ShardMetrics};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt::Error;
use std::sync::Arc;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Debug)]
struct Scrape(Arc<Metrics>);

/// Reads one counter of a shard's metrics.
type Pick = fn(&ShardMetrics) -> u64;

pub fn render(m: &Arc<Metrics>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape(Arc::clone(m))));
    let mut out = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug
    // in the label sets above, and an empty page says so to the scraper.
    if prometheus_client::encoding::prometheus_text::encode(&mut out, &registry).is_err() {
        out.clear();
    }
    out
}

fn sum(shards: &[Arc<ShardMetrics>], f: impl Fn(&ShardMetrics) -> u64) -> u64 {
    shards.iter().map(|s| f(s)).fold(0, u64::wrapping_add)
}

fn counter(e: MetricEncoder<'_>, v: u64) -> Result<(), Error> {
    let mut e = e;
    e.encode_counter::<NoLabelSet, u64, f64>(&v, None)
}

fn histogram(e: MetricEncoder<'_>, t: &Totals) -> Result<(), Error> {
    let mut e = e;
    e.encode_histogram::<NoLabelSet>(t.sum_ns as f64 / 1e9, t.count(), &t.cumulative(), None)
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), Error> {
        let shards = &self.0.shards[..];

        let mut d = enc.encode_descriptor(
            "postcore_connections",
            "Connections accepted, by protocol and the listener's TLS mode",
            None,
            MetricType::Counter,
        )?;
        for p in Proto::ALL {
            for (t, tls) in TLS_MODES.iter().enumerate() {
                let v = sum(shards, |s| s.connections[p as usize][t].get());
                counter(
                    d.encode_family(&[("protocol", p.label()), ("tls", tls)])?,
                    v,
                )?;
            }
        }

        let mut d = enc.encode_descriptor(
            "postcore_connections_open",
            "Connections open now, by protocol",
            None,
            MetricType::Gauge,
        )?;
        for p in Proto::ALL {
            let v: i64 = shards.iter().map(|s| s.open[p as usize].get()).sum();
            d.encode_family(&[("protocol", p.label())])?
                .encode_gauge(&v.max(0))?;
        }

        let mut d = enc.encode_descriptor(
            "postcore_starttls",
            "Connections upgraded to TLS by STARTTLS/STLS, by protocol",
            None,
            MetricType::Counter,
        )?;
        for p in Proto::ALL {
            let v = sum(shards, |s| s.starttls[p as usize].get());
            counter(d.encode_family(&[("protocol", p.label())])?, v)?;
        }

        let mut d = enc.encode_descriptor(
            "postcore_logins",
            "Authentication attempts, by protocol, mechanism and result",
            None,
            MetricType::Counter,
        )?;
        for p in LoginProto::ALL {
            for m in Mech::ALL {
                for (r, result) in ["ok", "failed"].iter().enumerate() {
                    let v = sum(shards, |s| s.logins[p as usize][m as usize][r].get());
                    // Only mechanisms in use: most pairs never occur.
                    if v > 0 {
                        let labels = [
                            ("protocol", p.label()),
                            ("mechanism", m.label()),
                            ("result", result),
                        ];
                        counter(d.encode_family(&labels)?, v)?;
                    }
                }
            }
        }

        let mut d = enc.encode_descriptor(
            "postcore_command_duration_seconds",
            "Time from a command's last byte to its completion response, by protocol and command",
            None,
            MetricType::Histogram,
        )?;
        for p in Proto::ALL {
            let names = commands(p);
            for i in 0..=names.len() {
                let mut t = Totals::default();
                for s in shards {
                    s.commands[p as usize][i].add_to(&mut t);
                }
                if t.count() == 0 {
                    continue;
                }
                let name = names.get(i).copied().unwrap_or("other");
                histogram(
                    d.encode_family(&[("protocol", p.label()), ("command", name)])?,
                    &t,
                )?;
            }
        }

        for (name, help, pick) in [
            (
                "postcore_received_bytes",
                "Bytes read from clients (on the wire, TLS included), by protocol",
                0,
            ),
            (
                "postcore_sent_bytes",
                "Bytes written to clients (on the wire, TLS included), by protocol",
                1,
            ),
        ] {
            let mut d = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            for p in Proto::ALL {
                let v = sum(shards, |s| {
                    if pick == 0 {
                        s.bytes_in[p as usize].get()
                    } else {
                        s.bytes_out[p as usize].get()
                    }
                });
                counter(d.encode_family(&[("protocol", p.label())])?, v)?;
            }
        }

        let scalar: [(&str, &str, Pick); 5] = [
            (
                "postcore_store_appended_messages",
                "Messages made durable by appends (deliveries, APPEND, imports into a running server)",
                |s| s.appends.get(),
            ),
            (
                "postcore_store_appended_bytes",
                "Message bytes made durable by appends",
                |s| s.append_bytes.get(),
            ),
            (
                "postcore_store_compactions",
                "Log segments rewritten without their expunged messages",
                |s| s.compactions.get(),
            ),
            (
                "postcore_store_compaction_reclaimed_bytes",
                "Bytes given back by compaction",
                |s| s.reclaimed.get(),
            ),
            (
                "postcore_retention_expunged_messages",
                "Messages expunged from Trash and Junk by [retention]",
                |s| s.retention_expunged.get(),
            ),
        ];
        for (name, help, f) in scalar {
            let d = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            counter(d, sum(shards, f))?;
        }

        let d = enc.encode_descriptor(
            "postcore_store_fsync_duration_seconds",
            "fdatasync calls on log segments (one per group commit) and their latency",
            None,
            MetricType::Histogram,
        )?;
        let mut t = Totals::default();
        for s in shards {
            s.fsyncs.add_to(&mut t);
        }
        histogram(d, &t)?;

        let mut d = enc.encode_descriptor(
            "postcore_shard_busy_seconds",
            "Time each shard's event loop spent running tasks and polling I/O (not waiting)",
            None,
            MetricType::Counter,
        )?;
        let ids: Vec<String> = (0..shards.len()).map(|i| i.to_string()).collect();
        for (s, id) in shards.iter().zip(&ids) {
            let secs = s.busy_ns.get() as f64 / 1e9;
            d.encode_family(&[("shard", id.as_str())])?
                .encode_counter::<NoLabelSet, f64, f64>(&secs, None)?;
        }
        let mut d = enc.encode_descriptor(
            "postcore_shard_utilisation",
            "Fraction of the last second each shard's event loop was busy (0 to 1)",
            None,
            MetricType::Gauge,
        )?;
        for (s, id) in shards.iter().zip(&ids) {
            let v = s.utilisation_ppm.get() as f64 / 1e6;
            d.encode_family(&[("shard", id.as_str())])?
                .encode_gauge(&v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sums_over_shards_and_names_every_family() {
        let m = Metrics::new(2);
        let (a, b) = (m.shard(0), m.shard(1));
        a.connection(Proto::Imap, crate::config::TlsMode::Starttls);
        b.connection(Proto::Imap, crate::config::TlsMode::Starttls);
        a.connection_opened(Proto::Imap);
        a.connection_opened(Proto::Imap);
        // Handed off: opened on shard 0, closed on shard 1.
        b.closed(Proto::Imap);
        a.login(LoginProto::Imap, Mech::Plain, true);
        b.login(LoginProto::Imap, Mech::Plain, false);
        a.command(Proto::Imap, "UID FETCH", Duration::from_micros(70));
        b.command(Proto::Imap, "UID FETCH", Duration::from_micros(70));
        a.command(Proto::Pop3, "NOT-A-COMMAND", Duration::from_micros(1));
        a.read(Proto::Imap, 100);
        b.wrote(Proto::Imap, 5);
        store::StoreObserver::appended(&*a, 2, 300);
        store::StoreObserver::synced(&*b, Duration::from_millis(3));
        store::StoreObserver::compacted(&*a, 4096);
        a.event_loop(Duration::from_millis(250), Duration::from_secs(1));
        let out = m.render();
        for line in [
            "postcore_connections_total{protocol=\"imap\",tls=\"starttls\"} 2",
            "postcore_connections_open{protocol=\"imap\"} 1",
            "postcore_logins_total{protocol=\"imap\",mechanism=\"PLAIN\",result=\"ok\"} 1",
            "postcore_logins_total{protocol=\"imap\",mechanism=\"PLAIN\",result=\"failed\"} 1",
            "postcore_command_duration_seconds_count{protocol=\"imap\",command=\"UID FETCH\"} 2",
            "postcore_command_duration_seconds_bucket{protocol=\"imap\",command=\"UID FETCH\",le=\"0.0001\"} 2",
            "postcore_command_duration_seconds_count{protocol=\"pop3\",command=\"other\"} 1",
            "postcore_received_bytes_total{protocol=\"imap\"} 100",
            "postcore_sent_bytes_total{protocol=\"imap\"} 5",
            "postcore_store_appended_messages_total 2",
            "postcore_store_appended_bytes_total 300",
            "postcore_store_fsync_duration_seconds_count 1",
            "postcore_store_compactions_total 1",
            "postcore_store_compaction_reclaimed_bytes_total 4096",
            "postcore_shard_busy_seconds_total{shard=\"0\"} 0.25",
            "postcore_shard_utilisation{shard=\"0\"} 0.25",
        ] {
            assert!(out.contains(line), "missing {line:?} in:\n{out}");
        }
        // Unused mechanisms and commands are left out.
        assert!(!out.contains("OAUTHBEARER"));
        assert!(!out.contains("command=\"SELECT\""));
    }
}
