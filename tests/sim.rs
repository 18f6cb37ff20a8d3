//! The listener simulator: reproducible, calibrated, and consistent with its own catalogue.

use std::collections::HashSet;

use homerank::embedding::content_embeddings;
use homerank::rng::Rng;
use homerank::sim::{dataset_catalog, server_page, simulate, Listener, ServerRanking, SimCatalog, SimConfig};
use homerank::Action;

fn small(seed: u64) -> SimConfig {
    SimConfig { n_users: 60, seed, ..Default::default() }
}

#[test]
fn same_seed_same_log_and_another_seed_differs() {
    let a = simulate(&small(3));
    let b = simulate(&small(3));
    let c = simulate(&small(4));
    let key = |d: &homerank::dataset::Dataset| {
        d.sessions
            .iter()
            .flat_map(|s| s.events.iter().map(|e| (e.item, e.action, e.time_ms.to_bits())))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b));
    assert_ne!(key(&a), key(&c));
}

#[test]
fn skips_are_calibrated() {
    let d = simulate(&SimConfig::default());
    let plays: Vec<_> = d
        .sessions
        .iter()
        .flat_map(|s| &s.events)
        .filter(|e| matches!(e.action, Action::Skip | Action::Complete))
        .collect();
    let skipped = plays.iter().filter(|e| e.action == Action::Skip).count() as f64 / plays.len() as f64;
    let early = plays.iter().filter(|e| e.action == Action::Skip && e.ms_played.unwrap() < 5_000.0).count() as f64
        / plays.len() as f64;
    println!("{} plays: {:.1}% end early, {:.1}% within 5 s", plays.len(), 100.0 * skipped, 100.0 * early);
    assert!((0.43..0.53).contains(&skipped), "skip share {skipped}");
    assert!((0.20..0.28).contains(&early), "early-skip share {early}");
}

#[test]
fn log_is_consistent_with_its_catalogue() {
    let d = simulate(&small(5));
    let ids: HashSet<&str> = d.catalog.ids.iter().map(String::as_str).collect();
    assert_eq!(ids.len(), d.catalog.len());
    assert_eq!(d.catalog.len(), 4000);
    for s in &d.sessions {
        assert!(s.events.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        for e in &s.events {
            assert!((e.item as usize) < d.catalog.len());
            match e.action {
                Action::Complete => assert_eq!(e.ms_played, d.catalog.durations_ms[e.item as usize]),
                Action::Skip => assert!(e.ms_played.unwrap() < d.catalog.durations_ms[e.item as usize].unwrap()),
                Action::Like | Action::Dislike => assert_eq!(e.ms_played, None),
                other => panic!("unexpected action {other:?}"),
            }
        }
    }
    let session_ids: HashSet<&str> = d.sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(session_ids.len(), d.sessions.len());
    assert_eq!(d.sessions.len(), 60 * 3);
    assert!(d.sessions.iter().all(|s| s.user.as_deref().is_some_and(|u| u.starts_with("user:"))));
    // Likes and dislikes follow some plays, at the play's time.
    let events: Vec<_> = d.sessions.iter().flat_map(|s| &s.events).collect();
    assert!(events.iter().any(|e| e.action == Action::Like));
    assert!(events.iter().any(|e| e.action == Action::Dislike));
    // Types, creators, durations and noisy content are all filled in.
    let c = &d.catalog;
    assert_eq!(c.content_dim, 16);
    assert!(c.artists.iter().all(Option::is_some) && c.durations_ms.iter().all(Option::is_some));
    assert!(c.ids.iter().zip(&c.types).all(|(id, t)| id.starts_with(t.as_str())));
}

#[test]
fn server_pages_validate_and_intent_drives_completion() {
    let config = SimConfig::default();
    let mut rng = Rng::new(9);
    let sim = SimCatalog::generate(&config.catalog_spec(), &mut rng);
    let catalog = dataset_catalog(&sim, 9);
    let emb = content_embeddings(&catalog, 32);
    let listener = Listener::new(&sim, &mut rng);
    let ranking = ServerRanking::for_listener(&sim, &listener, &mut rng);
    let page = server_page(&sim, &ranking, &|i| emb[i as usize * 32..(i as usize + 1) * 32].to_vec(), 32, 8, 12);
    page.validate(32).unwrap();
    assert_eq!(page.shelves.len(), 8);
    assert!(page.shelves.iter().all(|s| s.items.len() == 12));

    // Items close to the intent are completed far more often than items far from it.
    let mut by_affinity: Vec<u32> = (0..sim.len() as u32).collect();
    by_affinity.sort_by(|&a, &b| listener.affinity(&sim, b).total_cmp(&listener.affinity(&sim, a)));
    let rate = |items: &[u32]| {
        let mut done = 0;
        for (k, &i) in items.iter().enumerate() {
            let mut l = listener.clone();
            if l.listen(&sim, i, &mut Rng::new(k as u64)).action == Action::Complete {
                done += 1;
            }
        }
        done as f64 / items.len() as f64
    };
    let close = rate(&by_affinity[..200]);
    let far = rate(&by_affinity[by_affinity.len() - 200..]);
    println!("completion: close to intent {close:.2}, far {far:.2}");
    assert!(close > far + 0.4);
}

#[test]
fn intent_on_the_item_completes_it_more_often_than_intent_away_from_it() {
    let sim = SimCatalog::generate(&SimConfig::default().catalog_spec(), &mut Rng::new(11));
    let listener = Listener::new(&sim, &mut Rng::new(12));
    let rate = |toward: f32| {
        let mut done = 0;
        for i in 0..300u32 {
            let mut l = listener.clone();
            l.intent = sim.items[i as usize].latent.iter().map(|v| toward * v).collect();
            if l.listen(&sim, i, &mut Rng::new(i as u64)).action == Action::Complete {
                done += 1;
            }
        }
        done as f64 / 300.0
    };
    let (matched, opposed) = (rate(1.0), rate(-1.0));
    println!("completion: intent on the item {matched:.2}, opposite {opposed:.2}");
    assert!(matched > opposed + 0.5, "{matched} vs {opposed}");
}
