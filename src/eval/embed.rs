//! Server embeddings for offline datasets (see `crate::embedding`): the collaborative part of
//! an item is the sum of the identity vectors of the items it co-occurs with (within a window of
//! 5) in the *training* sessions, so its dot product with another item's identity counts their
//! co-occurrences. Test sessions never contribute.

use crate::dataset::Dataset;
use crate::embedding::{content_embeddings, identity_vector, item_embedding, ContentProjection};

/// Co-occurrence window (events either side) for the collaborative part.
const WINDOW: usize = 5;

/// One embedding per catalogue item, row-major.
#[derive(Debug, Clone)]
pub struct ItemEmbeddings {
    pub dim: usize,
    pub values: Vec<f32>,
}

impl ItemEmbeddings {
    pub fn of(&self, item: u32) -> &[f32] {
        &self.values[item as usize * self.dim..(item as usize + 1) * self.dim]
    }

    /// Builds the embeddings of every item from its content and the `train` sessions.
    pub fn build(dataset: &Dataset, train: &[usize], dim: usize) -> Self {
        let catalog = &dataset.catalog;
        if dataset.content_only {
            return ItemEmbeddings { dim, values: content_embeddings(catalog, dim) };
        }
        let index: Vec<Vec<f32>> = catalog.ids.iter().map(|id| identity_vector(id, dim)).collect();
        let mut collab = vec![0f32; catalog.len() * dim];
        for &s in train {
            let items: Vec<u32> = dataset.sessions[s].events.iter().map(|e| e.item).collect();
            for (p, &i) in items.iter().enumerate() {
                let lo = p.saturating_sub(WINDOW);
                let hi = (p + WINDOW + 1).min(items.len());
                for &j in &items[lo..hi] {
                    if j != i {
                        let row = &mut collab[i as usize * dim..(i as usize + 1) * dim];
                        row.iter_mut().zip(&index[j as usize]).for_each(|(r, x)| *r += x);
                    }
                }
            }
        }
        let projection = ContentProjection::new(catalog.content_dim, dim);
        let mut values = Vec::with_capacity(catalog.len() * dim);
        for (i, id) in catalog.ids.iter().enumerate() {
            let content =
                if catalog.content_dim > 0 { projection.project(catalog.content_of(i as u32)) } else { vec![0.0; dim] };
            values.extend(item_embedding(id, &content, &collab[i * dim..(i + 1) * dim]));
        }
        ItemEmbeddings { dim, values }
    }
}
