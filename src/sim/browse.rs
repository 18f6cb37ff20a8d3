//! How a simulated listener browses a Home page, so that layout matters. A position-based
//! examination model with a cascade stop (Chuklin, Markov & de Rijke, *Click Models for Web
//! Search*, 2015, ch. 3): the listener reads shelves from the top and cards within a shelf from
//! the left; each card is examined with a probability that falls with how far below the fold
//! and how many carousel swipes away it is; an examined card is played with a probability from
//! the listener's affinity, the item's popularity and the card's size; the first card played
//! ends the scan. A scan with no play ends the session.
//!
//! Geometry follows the demo's CSS (`www/style.css`): cards 112 / 148 / 196 px wide (S / M /
//! L), 64 px of text under square art, 12 px gaps, 30 px shelf titles, 18 px between shelves;
//! the hero template makes the first shelf's first card 2.2 cards wide.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// How a shelf lays out its cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Template {
    /// One row per shelf; cards past the viewport's width need swipes.
    #[default]
    Carousel,
    /// Rows of as many cards as fit; every card is reached by scrolling down.
    Grid,
    /// Carousels, with the first shelf's first card 2.2 cards wide.
    Hero,
}

/// Card size, as in the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardSize {
    /// 112 px wide.
    S,
    /// 148 px wide.
    #[default]
    M,
    /// 196 px wide.
    L,
}

impl CardSize {
    /// Card width in CSS pixels.
    pub fn width_px(self) -> f32 {
        match self {
            CardSize::S => 112.0,
            CardSize::M => 148.0,
            CardSize::L => 196.0,
        }
    }
}

/// The screen the listener browses on, in CSS pixels (default: a 390 × 844 phone).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Viewport {
    /// Width of the Home column.
    pub width: f32,
    /// Height of the visible part of the page.
    pub height: f32,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport { width: 390.0, height: 844.0 }
    }
}

/// The browsing model's parameters: the assumptions a layout comparison rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BrowseModel {
    /// A card whose centre is `d` viewport heights below the fold is examined with
    /// `exp(−d / scrollPatience)`.
    pub scroll_patience: f32,
    /// A carousel card `k` screens to the right is examined with `carouselSwipe^k`.
    pub carousel_swipe: f32,
    /// Each card further right within a screen's row multiplies examination by this.
    pub position_decay: f32,
    /// Weight of the listener's affinity (about −1 … 1) in the play logit.
    pub play_affinity: f32,
    /// Weight of the item's log popularity in the play logit.
    pub play_popularity: f32,
    /// Weight of the log of the card's area relative to an M card in the play logit.
    pub salience: f32,
    /// Subtracted from the play logit: how choosy the listener is.
    pub play_threshold: f32,
    /// Seconds spent on each examined card.
    pub seconds_per_card: f32,
    /// Seconds per viewport height of scrolling down.
    pub seconds_per_screen: f32,
    /// Seconds per carousel swipe.
    pub seconds_per_swipe: f32,
}

impl Default for BrowseModel {
    fn default() -> Self {
        BrowseModel {
            scroll_patience: 1.0,
            carousel_swipe: 0.35,
            position_decay: 0.92,
            play_affinity: 3.0,
            play_popularity: 0.15,
            salience: 0.5,
            play_threshold: 2.5,
            seconds_per_card: 0.8,
            seconds_per_screen: 1.5,
            seconds_per_swipe: 0.7,
        }
    }
}

const GAP: f32 = 12.0;
const TEXT_HEIGHT: f32 = 64.0;
const SHELF_TITLE: f32 = 30.0;
const SHELF_GAP: f32 = 18.0;
const HERO_WIDTH: f32 = 2.2;
const HERO_ART_ASPECT: f32 = 2.1;

/// Where one card sits on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Left edge, from the start of its row (carousels extend past the viewport's width).
    pub x: f32,
    /// Top edge, from the top of the page.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
    /// Its index within the cards one screen of its row shows.
    pub column: usize,
    /// Swipes needed to bring it on screen (carousels only).
    pub swipes: usize,
}

/// Places the cards of shelves with `lengths` cards each, in display order: one placement per
/// card, shelf by shelf.
pub fn place(template: Template, size: CardSize, viewport: Viewport, lengths: &[usize]) -> Vec<Vec<Placement>> {
    let w = size.width_px();
    let h = w + TEXT_HEIGHT;
    let per_screen = (((viewport.width + GAP) / (w + GAP)).floor() as usize).max(1);
    let mut y = 0.0;
    let mut shelves = Vec::with_capacity(lengths.len());
    for (s, &n) in lengths.iter().enumerate() {
        y += SHELF_TITLE;
        let mut cards = Vec::with_capacity(n);
        match template {
            Template::Grid => {
                for j in 0..n {
                    let (row, col) = (j / per_screen, j % per_screen);
                    let x = col as f32 * (w + GAP);
                    cards.push(Placement { x, y: y + row as f32 * (h + GAP), w, h, column: col, swipes: 0 });
                }
                let rows = n.div_ceil(per_screen);
                y += rows as f32 * (h + GAP) - if rows > 0 { GAP } else { 0.0 };
            }
            Template::Carousel | Template::Hero => {
                let hero = template == Template::Hero && s == 0;
                let mut x = 0.0;
                let mut row_h: f32 = 0.0;
                for j in 0..n {
                    let (cw, ch) = if hero && j == 0 {
                        (HERO_WIDTH * w, HERO_WIDTH * w / HERO_ART_ASPECT + TEXT_HEIGHT)
                    } else {
                        (w, h)
                    };
                    let swipes = ((x + cw / 2.0 - viewport.width).max(0.0) / viewport.width).ceil() as usize;
                    let column = cards.iter().filter(|c: &&Placement| c.swipes == swipes).count();
                    cards.push(Placement { x, y, w: cw, h: ch, column, swipes });
                    x += cw + GAP;
                    row_h = row_h.max(ch);
                }
                y += row_h;
            }
        }
        y += SHELF_GAP;
        shelves.push(cards);
    }
    shelves
}

/// What one scan of the page did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scan {
    /// The card played, `(shelf, position)` in display order, or `None`: the listener left.
    pub played: Option<(usize, usize)>,
    /// Cards examined on the way.
    pub examined: usize,
    /// Seconds from the start of the scan to the play (or to leaving).
    pub seconds: f32,
    /// How far below the fold the played card's bottom edge was, in pixels (0 above the fold).
    pub scroll_px: f32,
}

impl BrowseModel {
    /// Probability that the listener looks at a card placed at `p`.
    pub fn examination(&self, p: &Placement, viewport: Viewport) -> f64 {
        let below = ((p.y + p.h / 2.0 - viewport.height).max(0.0) / viewport.height) as f64;
        let vertical = (-below / self.scroll_patience.max(1e-3) as f64).exp();
        vertical
            * (self.carousel_swipe as f64).powi(p.swipes as i32)
            * (self.position_decay as f64).powi(p.column as i32)
    }

    /// Probability that an examined card is played, from the listener's `affinity` for the item,
    /// the item's `popularity` (0 … 1] and the card's placement.
    pub fn play_probability(&self, affinity: f32, popularity: f32, p: &Placement) -> f64 {
        let m = CardSize::M.width_px();
        let area = (p.w * p.h) / (m * (m + TEXT_HEIGHT));
        let logit = self.play_affinity * affinity
            + self.play_popularity * popularity.max(1e-6).ln()
            + self.salience * area.ln()
            - self.play_threshold;
        1.0 / (1.0 + (-logit as f64).exp())
    }

    /// One scan over `placements` (display order); `play_probability(shelf, position, placement)`
    /// gives an examined card's chance to be played, or `None` for a card the listener will not
    /// play again (already played this session).
    pub fn scan(
        &self,
        placements: &[Vec<Placement>],
        viewport: Viewport,
        rng: &mut Rng,
        mut play_probability: impl FnMut(usize, usize, &Placement) -> Option<f64>,
    ) -> Scan {
        let mut examined = 0;
        let mut seconds = 0.0;
        let mut deepest: f32 = 0.0;
        for (s, shelf) in placements.iter().enumerate() {
            for (j, p) in shelf.iter().enumerate() {
                if !rng.chance(self.examination(p, viewport)) {
                    continue;
                }
                examined += 1;
                seconds += self.seconds_per_card * if p.w > 1.5 * CardSize::L.width_px() { 2.0 } else { 1.0 };
                deepest = deepest.max(p.y + p.h - viewport.height);
                let Some(prob) = play_probability(s, j, p) else { continue };
                if rng.chance(prob) {
                    let scroll_px = (p.y + p.h - viewport.height).max(0.0);
                    seconds += self.seconds_per_screen * scroll_px / viewport.height
                        + self.seconds_per_swipe * p.swipes as f32;
                    return Scan { played: Some((s, j)), examined, seconds, scroll_px };
                }
            }
        }
        let scroll_px = deepest.max(0.0);
        seconds += self.seconds_per_screen * scroll_px / viewport.height;
        Scan { played: None, examined, seconds, scroll_px }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_carousel_shows_two_m_cards_per_screen() {
        let shelves = place(Template::Carousel, CardSize::M, Viewport::default(), &[6, 3]);
        let first = &shelves[0];
        // A swipe moves one viewport width (390 px): about 2.4 cards.
        assert_eq!(first.iter().map(|p| p.swipes).collect::<Vec<_>>(), [0, 0, 1, 1, 1, 2]);
        assert_eq!(first.iter().map(|p| p.column).collect::<Vec<_>>(), [0, 1, 0, 1, 2, 0]);
        assert_eq!(first[1].x, 160.0);
        // 30 px title, 212 px cards, 18 px gap, then the next title.
        assert_eq!(shelves[1][0].y, 30.0 + 212.0 + 18.0 + 30.0);
    }

    #[test]
    fn a_grid_wraps_into_rows_and_never_needs_swipes() {
        let shelves = place(Template::Grid, CardSize::S, Viewport::default(), &[7]);
        // (390 + 12) / (112 + 12) = 3 cards a row.
        assert_eq!(shelves[0].iter().map(|p| p.column).collect::<Vec<_>>(), [0, 1, 2, 0, 1, 2, 0]);
        assert!(shelves[0].iter().all(|p| p.swipes == 0));
        assert_eq!(shelves[0][3].y, 30.0 + 176.0 + 12.0);
    }

    #[test]
    fn the_hero_card_is_large_and_only_on_the_first_shelf() {
        let shelves = place(Template::Hero, CardSize::M, Viewport::default(), &[3, 3]);
        assert!((shelves[0][0].w - 2.2 * 148.0).abs() < 1e-3);
        assert_eq!(shelves[1][0].w, 148.0);
        let model = BrowseModel::default();
        assert!(model.play_probability(0.0, 0.5, &shelves[0][0]) > model.play_probability(0.0, 0.5, &shelves[1][0]));
    }

    #[test]
    fn examination_falls_below_the_fold_and_with_swipes() {
        let model = BrowseModel::default();
        let v = Viewport::default();
        let card = |x: f32, y: f32, column, swipes| Placement { x, y, w: 148.0, h: 212.0, column, swipes };
        assert_eq!(model.examination(&card(0.0, 30.0, 0, 0), v), 1.0);
        let below = model.examination(&card(0.0, 844.0, 0, 0), v);
        assert!((below - (-(106.0f64 / 844.0)).exp()).abs() < 1e-6);
        assert!((model.examination(&card(400.0, 30.0, 0, 1), v) - 0.35).abs() < 1e-6);
    }

    #[test]
    fn a_scan_stops_at_the_first_play_and_leaves_when_nothing_appeals() {
        let shelves = place(Template::Carousel, CardSize::M, Viewport::default(), &[4, 4]);
        let model =
            BrowseModel { position_decay: 1.0, carousel_swipe: 1.0, scroll_patience: 1e6, ..Default::default() };
        let mut rng = Rng::new(3);
        let scan = model
            .scan(&shelves, Viewport::default(), &mut rng, |s, j, _| Some(if (s, j) == (1, 2) { 1.0 } else { 0.0 }));
        assert_eq!(scan.played, Some((1, 2)));
        assert_eq!(scan.examined, 7);
        let none = model.scan(&shelves, Viewport::default(), &mut rng, |_, _, _| None);
        assert_eq!((none.played, none.examined), (None, 8));
    }
}
