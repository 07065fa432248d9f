//! Plans a bill of 50 charges against a wallet of 20 instruments (issue 2's benchmark).

use billing::{Amount, BillingItem, Charge, Instrument, InstrumentKind, Settlement, Wallet, plan};
use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, black_box, criterion_group, criterion_main};

fn bench_plan(c: &mut Criterion) {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let instruments = (0..20)
        .map(|i| Instrument {
            id: format!("inst-{i:02}"),
            kind: InstrumentKind::ALL[i % 3],
            balance: Amount::from_fen(5_000 + 97 * i as i64),
            valid_from: start,
            valid_until: start + Duration::days(30 + (i as i64 * 7) % 40),
            activated_at: start + Duration::hours(i as i64),
        })
        .collect();
    let wallet = Wallet::new(Amount::from_yuan(1_000), Amount::ZERO, instruments).unwrap();
    let charges: Vec<Charge> = (0..50)
        .map(|i| Charge {
            item: BillingItem::ALL[i % BillingItem::ALL.len()],
            amount: Amount::from_fen(1_234 + 31 * i as i64),
        })
        .collect();
    let at = start + Duration::days(10);
    c.bench_function("plan 50 charges x 20 instruments (account)", |b| {
        b.iter(|| {
            plan(
                black_box(Settlement::Account),
                black_box(at),
                black_box(&wallet),
                black_box(&charges),
            )
        })
    });
    c.bench_function("plan 50 charges x 20 instruments (cloud)", |b| {
        b.iter(|| {
            plan(
                black_box(Settlement::Cloud),
                black_box(at),
                black_box(&wallet),
                black_box(&charges),
            )
        })
    });
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
