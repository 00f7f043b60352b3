// Groupings for collapsing search results: one hit per duplicate group, one per stack.
// Built from the same find_duplicates / find_stacks that the dupes and stacks commands use,
// so search never disagrees with them; the Searcher caches them per catalog generation.
#include "search/search_internal.h"

namespace vf::search {

namespace {
template <typename Group, typename Member>
Grouping grouping_of(const std::vector<Group>& groups, std::vector<Member> Group::*members) {
  Grouping g;
  for (const auto& grp : groups) {
    std::vector<int64_t> ids;
    for (const auto& m : grp.*members) {
      g.group_of[m.id] = g.groups.size();
      ids.push_back(m.id);
    }
    g.groups.push_back(std::move(ids));
  }
  return g;
}
}  // namespace

Grouping duplicate_grouping(const Library& library) {
  return grouping_of(find_duplicates(library, DupeParams{}), &DupeGroup::members);
}

Grouping stack_grouping(const Library& library) {
  return grouping_of(find_stacks(library, StackParams{}), &Stack::members);
}

}  // namespace vf::search
