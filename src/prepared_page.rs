//! [`PreparedPage`]: a page read once and reranked many times — after each event, say. What its
//! features need that no event changes (the candidates' token inputs and its ids as integers,
//! `features::PageInputs`) is computed on its first rerank and kept; a later rerank adds only the
//! session's part.

use std::sync::OnceLock;

use crate::features::{Features, PageInputs};
use crate::page::HomePage;
use crate::session::SessionState;

/// A page prepared for many reranks: [`crate::HomeRanker::rerank`] takes it where it takes a
/// [`HomePage`], with the same result.
#[derive(Debug)]
pub struct PreparedPage {
    page: HomePage,
    /// Computed on the first rerank that gets to features (the page valid by then).
    inputs: OnceLock<PageInputs<Box<str>>>,
}

impl PreparedPage {
    /// Prepares a page; nothing is computed until its first rerank.
    pub fn new(page: HomePage) -> Self {
        PreparedPage { page, inputs: OnceLock::new() }
    }

    /// The page, as sent.
    pub fn page(&self) -> &HomePage {
        &self.page
    }
}

impl From<HomePage> for PreparedPage {
    fn from(page: HomePage) -> Self {
        PreparedPage::new(page)
    }
}

/// A page as a rerank takes it: as sent, or prepared.
#[derive(Debug, Clone, Copy)]
pub enum PageRef<'a> {
    /// A page as sent: its features are built whole on each rerank.
    Page(&'a HomePage),
    /// A prepared page: its own part of the features is kept across reranks.
    Prepared(&'a PreparedPage),
}

impl<'a> PageRef<'a> {
    /// The page itself.
    pub fn page(self) -> &'a HomePage {
        match self {
            PageRef::Page(page) => page,
            PageRef::Prepared(prepared) => &prepared.page,
        }
    }

    /// The features of the (validated) page and the session's last `max_events` events.
    pub(crate) fn features(self, session: &SessionState, max_events: usize) -> Features {
        match self {
            PageRef::Page(page) => Features::from_page(page, session, max_events),
            PageRef::Prepared(prepared) => {
                prepared.inputs.get_or_init(|| PageInputs::new(&prepared.page, Box::from)).features(session, max_events)
            }
        }
    }
}

impl<'a> From<&'a HomePage> for PageRef<'a> {
    fn from(page: &'a HomePage) -> Self {
        PageRef::Page(page)
    }
}

impl<'a> From<&'a PreparedPage> for PageRef<'a> {
    fn from(prepared: &'a PreparedPage) -> Self {
        PageRef::Prepared(prepared)
    }
}
