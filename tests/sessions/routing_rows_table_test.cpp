// Focus: the virtual table the writer inserts a step's routing rows from. Its rows must be the
// step's arrays in the routing table's key order, and only a pointer bound by our code (never SQL
// text) may feed it. What it writes into session files is checked against the engine's outputs by
// the recording tests.
#include "sessions/routing_rows_table.h"

#include <gtest/gtest.h>

#include "sessions/float16.h"
#include "sessions/schema.h"
#include "sessions/sql.h"

namespace moescope::sessions {
namespace {

// Two tokens at positions 40 and 41, layers 3 and 5, 4 experts, top-2; layer 5 dropped token 41's
// second assignment.
struct TwoByTwo {
  LayerRouting layer3{.layer = 3,
                      .first_position = 40,
                      .n_tokens = 2,
                      .n_experts = 4,
                      .top_k = 2,
                      .scores = {0.5f, 0.25f, 0.125f, 0.125f, 0.1f, 0.2f, 0.3f, 0.4f},
                      .router_logits = {},
                      .topk_ids = {0, 1, 3, 2},
                      .topk_weights = {0.6f, 0.4f, 0.55f, 0.45f},
                      .dropped = {}};
  LayerRouting layer5{.layer = 5,
                      .first_position = 40,
                      .n_tokens = 2,
                      .n_experts = 4,
                      .top_k = 2,
                      .scores = {0.7f, 0.1f, 0.1f, 0.1f, 0.25f, 0.25f, 0.25f, 0.25f},
                      .router_logits = {},
                      .topk_ids = {0, 2, 1, 0},
                      .topk_weights = {0.9f, 0.1f, 0.5f, 0.5f},
                      .dropped = {0, 0, 0, 1}};
  std::vector<const LayerRouting*> layers{&layer3, &layer5};
  RoutingRows rows{.run_id = 7,
                   .step = 2,
                   .first_position = 40,
                   .n_tokens = 2,
                   .top_k = 2,
                   .n_experts = 4,
                   .layers = layers,
                   .store_scores = true,
                   .store_router_logits = false};
};

Connection memory_connection() {
  Connection connection(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  register_routing_rows_table(connection.get());
  return connection;
}

TEST(RoutingRowsTable, Case1_RowsComeOutInKeyOrderWithTheStepsValues) {
  Connection connection = memory_connection();
  TwoByTwo step;
  Statement select = connection.prepare(
      "SELECT id, run_id, position, layer, step, expert_0, expert_1, expert_2, weight_0, weight_1, weight_2,"
      " dropped_mask, scores, router_logits FROM moescope_routing_rows(?1)");
  select.bind_pointer(1, &step.rows, kRoutingRowsPointerType);
  struct Expected {
    int64_t position;
    const LayerRouting* layer;
    int64_t token;
    int64_t dropped_mask;
  };
  const Expected expected[] = {
      {40, &step.layer3, 0, 0}, {40, &step.layer5, 0, 0}, {41, &step.layer3, 1, 0}, {41, &step.layer5, 1, 2}};
  for (const Expected& row : expected) {
    SCOPED_TRACE("position " + std::to_string(row.position) + ", layer " + std::to_string(row.layer->layer));
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.column_int(0), routing_row_id(7, row.position, row.layer->layer));
    EXPECT_EQ(select.column_int(1), 7);
    EXPECT_EQ(select.column_int(2), row.position);
    EXPECT_EQ(select.column_int(3), row.layer->layer);
    EXPECT_EQ(select.column_int(4), 2);
    for (int r = 0; r < 2; ++r) {
      EXPECT_EQ(select.column_int(5 + r), row.layer->topk_ids[static_cast<size_t>(row.token * 2 + r)]);
      EXPECT_EQ(select.column_double(8 + r), row.layer->topk_weights[static_cast<size_t>(row.token * 2 + r)]);
    }
    EXPECT_TRUE(select.column_is_null(7));   // expert_2: past top_k
    EXPECT_TRUE(select.column_is_null(10));  // weight_2
    EXPECT_EQ(select.column_int(11), row.dropped_mask);
    const auto blob = select.column_blob(12);
    ASSERT_EQ(blob.size(), 8u);
    std::vector<float> scores(4);
    decode_float16_le(blob, scores);
    for (size_t e = 0; e < 4; ++e)
      EXPECT_NEAR(scores[e], row.layer->scores[static_cast<size_t>(row.token) * 4 + e], 1e-3);
    EXPECT_TRUE(select.column_is_null(13));  // router logits not stored
  }
  EXPECT_FALSE(select.step());
}

TEST(RoutingRowsTable, Case2_SqlTextCannotFeedIt) {
  Connection connection = memory_connection();
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM moescope_routing_rows"), 0);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM moescope_routing_rows('0x7fff0000')"), 0);
  EXPECT_EQ(connection.query_int("SELECT count(*) FROM moescope_routing_rows(123456)"), 0);
  // A pointer bound under another type is not handed over either.
  TwoByTwo step;
  Statement select = connection.prepare("SELECT count(*) FROM moescope_routing_rows(?1)");
  select.bind_pointer(1, &step.rows, "carray");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.column_int(0), 0);
}

TEST(RoutingRowsTable, Case3_WithoutScoresTheBlobsAreNull) {
  Connection connection = memory_connection();
  TwoByTwo step;
  step.rows.store_scores = false;
  Statement select = connection.prepare("SELECT count(*), count(scores) FROM moescope_routing_rows(?1)");
  select.bind_pointer(1, &step.rows, kRoutingRowsPointerType);
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.column_int(0), 4);
  EXPECT_EQ(select.column_int(1), 0);
}

}  // namespace
}  // namespace moescope::sessions
